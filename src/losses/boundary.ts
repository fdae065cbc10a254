/**
 * `boundary` (spec 15, Kervadec et al. 2019, "Boundary loss for highly unbalanced segmentation"):
 *
 *   value = mean over (b, c ∈ classes, valid pixels i) of p_c(i) · φ_c(i)
 *
 * with φ_c the signed distance map of the target class c of image b: +distance to the class
 * outside it, −(distance to the outside − 1) inside it (0 on the inner boundary), 0 everywhere for a
 * class absent from the image (and for a class filling it). Exact Euclidean distances, 2-D or 3-D,
 * cached per target. Can be negative. Reference: LIVIAETS boundary-loss `SurfaceLoss` with
 * `one_hot2dist` (their data pipeline truncates the maps to integers; here they are exact).
 */
import { checkClassIds } from './boundary-options';
import { defineLoss } from './definition';
import { type OptionTable, resolveTable } from './options';

/** Options of `boundary` beyond the common ones. */
export interface BoundaryLossOptions {
  /** The class ids in the mean: distinct integers in [0, K). Default: the foreground classes 1..K−1. */
  readonly classes?: readonly number[];
}

/** The resolved own fields of boundary (native: BoundaryOptions). */
export interface BoundaryOwnOptions {
  /** Class ids, or null for 1..K−1. */
  readonly classes: readonly number[] | null;
}

/** Options of boundary: check, default, documentation. */
export const boundaryOptions: OptionTable<BoundaryOwnOptions> = {
  classes: {
    default: null,
    check: checkClassIds,
    doc: 'class ids in the mean (distinct integers in [0, K)); default the foreground classes 1..K−1',
  },
};

/** `boundary` for the registry (no presets). */
export const boundaryDefinition = defineLoss<'boundary', BoundaryLossOptions, BoundaryOwnOptions>({
  id: 'boundary',
  options: boundaryOptions,
  presetNames: [],
  resolve: (user, context, prefix) => resolveTable(boundaryOptions, user, context, prefix),
});
