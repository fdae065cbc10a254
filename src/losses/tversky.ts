/**
 * `tversky` (spec 10, Salehi et al. 2017): 1 − mean_c TI_c with the Tversky index
 * TI_c = (I_c + s) / (I_c + α FP_c + β FN_c + s), FP_c = P_c − I_c, FN_c = G_c − I_c over valid
 * pixels. **α weighs false positives, β false negatives** (as Salehi and MONAI `TverskyLoss`);
 * α = β = 0.5 is the Dice loss, α = β = 1 the Jaccard loss. Region options as `dice`.
 */
import { defineLoss } from './definition';
import { checkNonNegative, type OptionContext, type OptionTable, resolveTable } from './options';
import { checkTverskyWeights, regionOptions, type RegionUserOptions } from './region-options';

/** Options of `tversky` beyond the common ones. */
export interface TverskyLossOptions {
  /** Ratios per image, averaged over images (MONAI), instead of sums pooled over the batch. Default `false`. */
  readonly perImage?: boolean;
  /** Keep class 0 in the mean. Default `true`. */
  readonly includeBackground?: boolean;
  /** s ≥ 0, added to numerator and denominator. Default `1e-5`. */
  readonly smooth?: number;
  /** α ≥ 0, the weight of the false positives (α + β > 0). Default `0.3`. */
  readonly alpha?: number;
  /** β ≥ 0, the weight of the false negatives (α + β > 0). Default `0.7`. */
  readonly beta?: number;
}

/** The Tversky weights, resolved. */
export interface TverskyWeights {
  readonly alpha: number;
  readonly beta: number;
}

/** The resolved own fields of tversky (native: TverskyOptions). */
export type TverskyOwnOptions = RegionUserOptions & TverskyWeights;

/** The α and β entries of an option table (tversky, focal-tversky). */
export const tverskyWeightOptions: OptionTable<TverskyWeights> = {
  alpha: { default: 0.3, check: checkNonNegative, doc: 'α ≥ 0, weight of the false positives (α + β > 0); default 0.3' },
  beta: { default: 0.7, check: checkNonNegative, doc: 'β ≥ 0, weight of the false negatives (α + β > 0); default 0.7' },
};

/** Options of tversky: check, default, documentation. */
export const tverskyOptions: OptionTable<TverskyOwnOptions> = { ...regionOptions, ...tverskyWeightOptions };

function resolveTverskyOptions(user: Record<string, unknown>, context: OptionContext, namePrefix: string): TverskyOwnOptions {
  const options = resolveTable(tverskyOptions, user, context, namePrefix);
  checkTverskyWeights(options.alpha, options.beta, namePrefix);
  return options;
}

/** `tversky` for the registry. */
export const tverskyDefinition = defineLoss<'tversky', TverskyLossOptions, TverskyOwnOptions>({
  id: 'tversky',
  options: tverskyOptions,
  presetNames: [],
  resolve: (user, context, prefix) => resolveTverskyOptions(user, context, prefix),
});
