/**
 * `region-wise` (spec 22, Valverde & Tohka 2023, "Region-wise loss for biomedical image
 * segmentation"):
 *
 *   value = Σ_b Σ_c Σ_{valid i} p_c(i) · z_c(i) / (K · N_valid)
 *
 * with the rectified region-wise map z_c = −d / max d inside the target class (d the distance to
 * the class outside, max over the class's pixels of the image) and +1 elsewhere and for classes
 * absent from the image; a class filling the image has z = −1. Exact Euclidean distances, 2-D or
 * 3-D, cached per target. `map` replaces z by a caller-supplied map. Reference: jmlipman
 * RegionWiseLoss `RWLoss`.
 */
import { checkPixelMap } from './boundary-options';
import { defineLoss } from './definition';
import { type OptionTable, resolveTable } from './options';

/** Options of `region-wise` beyond the common ones. */
export interface RegionWiseLossOptions {
  /**
   * A map [B, K, ...spatial] (K = C, or 2 when C = 1) of finite numbers that replaces the rectified
   * map (the loss is then mean p·map). Float64Array or Float32Array. Default: the rectified map of
   * the target.
   */
  readonly map?: Float64Array | Float32Array;
}

/** The resolved own fields of region-wise (native: RegionWiseOptions). */
export interface RegionWiseOwnOptions {
  /** The caller's map as a Float64Array, or null for the rectified map. */
  readonly map: Float64Array | null;
}

/** Options of region-wise: check, default, documentation. */
export const regionWiseOptions: OptionTable<RegionWiseOwnOptions> = {
  map: {
    default: null,
    check: checkPixelMap,
    doc: 'Float64Array | Float32Array [B, K, ...spatial] replacing the rectified map; default the rectified map of the target',
  },
};

/** `region-wise` for the registry (no presets). */
export const regionWiseDefinition = defineLoss<'region-wise', RegionWiseLossOptions, RegionWiseOwnOptions>({
  id: 'region-wise',
  options: regionWiseOptions,
  presetNames: [],
  resolve: (user, context, prefix) => resolveTable(regionWiseOptions, user, context, prefix),
});
