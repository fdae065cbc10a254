/**
 * `combo` (spec 23; Taghanaki et al. 2019, "Combo loss: handling input and output imbalance in
 * multi-organ segmentation"): α·WCE_β + (1 − α)·(1 − Dice), with
 * WCE_β = mean over valid pixels and classes of −[β g_c ln p_c + (1 − β)(1 − g_c) ln(1 − p_c)]
 * (β weighs false negatives against false positives; with two classes it is ½·CE whatever β) and
 * Dice as in `dice` with the region options. The value is ≥ 0 and 0 for a perfect prediction;
 * mlyg's `combo_loss` returns α·CE − (1 − α)·Dice, this value minus the constant 1 − α.
 */
import { defineLoss } from './definition';
import { checkUnitInterval, type OptionTable, resolveTable } from './options';
import { regionOptions, type RegionUserOptions } from './region-options';

/** Options of `combo` beyond the common ones. */
export interface ComboLossOptions {
  /** α ∈ [0, 1], the weight of the cross-entropy term (1 − α weighs 1 − Dice). Default `0.5`. */
  readonly alpha?: number;
  /** β ∈ [0, 1], the weight of the positive (false-negative) terms of WCE_β; 1 − β weighs the negative ones. Default `0.5`. */
  readonly beta?: number;
  /** Dice: ratios per image, averaged over images, instead of sums pooled over the batch. Default `false`. */
  readonly perImage?: boolean;
  /** Dice: keep class 0 in the mean. Default `true`. */
  readonly includeBackground?: boolean;
  /** Dice: s ≥ 0, added to numerator and denominator. Default `1e-5`. */
  readonly smooth?: number;
}

/** The resolved own fields of combo (native: ComboOptions). */
export type ComboOwnOptions = RegionUserOptions & { readonly alpha: number; readonly beta: number };

/** Options of combo: check, default, documentation. */
export const comboOptions: OptionTable<ComboOwnOptions> = {
  alpha: { default: 0.5, check: checkUnitInterval, doc: 'α ∈ [0, 1], the cross-entropy weight (1 − α on 1 − Dice); default 0.5' },
  beta: { default: 0.5, check: checkUnitInterval, doc: 'β ∈ [0, 1], the weight of the false-negative terms of the weighted CE; default 0.5' },
  ...regionOptions,
};

/** `combo` for the registry. */
export const comboDefinition = defineLoss<'combo', ComboLossOptions, ComboOwnOptions>({
  id: 'combo',
  options: comboOptions,
  presetNames: [],
  resolve: (user, context, prefix) => resolveTable(comboOptions, user, context, prefix),
});
