/**
 * `hausdorff-dt` (spec 16, Karimi & Salcudean 2019, "Reducing the Hausdorff distance in medical
 * image segmentation with convolutional neural networks", the distance-transform form):
 *
 *   value = Σ_b Σ_{c ∈ classes} Σ_{valid i} (p_c − g_c)²·(d_g^α + d_p^α) / (|classes| · N_valid)
 *
 * d = edt(mask) + edt(¬mask): for the target class (cached per target) and for the thresholded
 * prediction p_c > 0.5 (recomputed every call); both are constants of the gradient, as in the
 * references. Empty or full masks give d = 0. References: PatRyg99 `HausdorffDTLoss`, MONAI
 * `HausdorffDTLoss`.
 */
import { defineLoss } from './definition';
import { checkBoolean, checkPositive, type OptionTable, resolveTable } from './options';

/** Options of `hausdorff-dt` beyond the common ones. */
export interface HausdorffDtLossOptions {
  /** α > 0, the exponent of the distance maps. Default `2`. */
  readonly alpha?: number;
  /** Keep class 0 in the mean. Default `false`. */
  readonly includeBackground?: boolean;
}

/** The resolved own fields of hausdorff-dt (native: HausdorffDtOptions). */
export interface HausdorffDtOwnOptions {
  readonly alpha: number;
  readonly includeBackground: boolean;
}

/** Options of hausdorff-dt: check, default, documentation. */
export const hausdorffDtOptions: OptionTable<HausdorffDtOwnOptions> = {
  alpha: { default: 2, check: checkPositive, doc: 'α > 0, the exponent of the distance maps; default 2' },
  includeBackground: { default: false, check: checkBoolean, doc: 'keep class 0 in the mean; default false' },
};

/** `hausdorff-dt` for the registry (no presets). */
export const hausdorffDtDefinition = defineLoss<'hausdorff-dt', HausdorffDtLossOptions, HausdorffDtOwnOptions>({
  id: 'hausdorff-dt',
  options: hausdorffDtOptions,
  presetNames: [],
  resolve: (user, context, prefix) => resolveTable(hausdorffDtOptions, user, context, prefix),
});
