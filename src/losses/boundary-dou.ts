/**
 * `boundary-dou` (spec 21, Sun et al. 2023, "Boundary difference over union loss for medical image
 * segmentation"): per class c, with the sums pooled over the batch, Z = Σ p², Y = Σ g, I = Σ p·g
 * over valid pixels and C_b the class's boundary pixels in the target (pixels of the class with a
 * face neighbour outside it, or on the image's edge; 4-connectivity in 2-D, 6 in 3-D):
 *
 *   α_c = min(2·(1 − (C_b + 1e-5)/(Y + 1e-5)) − 1, 0.8)
 *   loss_c = (Z + Y − 2I + 1e-5) / (Z + Y − (1 + α_c)·I + 1e-5)
 *   value = mean over all K classes
 *
 * The boundary counts depend on the target only and are cached per target. A class absent from the
 * batch contributes 1 (its ratio is constant). Reference: sunfan-bvb `BoundaryDoULoss`. No options
 * beyond the common ones.
 */
import { defineLoss } from './definition';
import { type OptionTable, resolveTable } from './options';

/** `boundary-dou` has no options beyond the common ones. */
export type BoundaryDouLossOptions = Record<never, never>;

/** The resolved own fields of boundary-dou (native: BoundaryDouOptions, none). */
export type BoundaryDouOwnOptions = Record<never, never>;

const boundaryDouOptions: OptionTable<BoundaryDouOwnOptions> = {};

/** `boundary-dou` for the registry (no presets). */
export const boundaryDouDefinition = defineLoss<'boundary-dou', BoundaryDouLossOptions, BoundaryDouOwnOptions>({
  id: 'boundary-dou',
  options: boundaryDouOptions,
  presetNames: [],
  resolve: (user, context, prefix) => resolveTable(boundaryDouOptions, user, context, prefix),
});
