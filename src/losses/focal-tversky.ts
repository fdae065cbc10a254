/**
 * `focal-tversky` (spec 11, Abraham & Khan 2019): mean_c (1 − TI_c)^(1/γ) with the Tversky index
 * TI_c of `tversky` (α on false positives, β on false negatives), γ = 4/3 (exponent 0.75), the
 * exponent applied per class as in the paper. Where 1 − TI_c = 0 and 1/γ < 1 the derivative of
 * x^(1/γ) is infinite; the subgradient 0 is used (a perfectly segmented class gets no gradient).
 *
 * Preset (explicit options override the preset's values):
 * - `odyssey`: SegLossOdyssey `FocalTversky_loss` with its `TverskyLoss` defaults — the exponent
 *   after the mean, (1 − mean_{b,c} TI)^(1/γ); perImage true, smooth 1.
 */
import { defineLoss } from './definition';
import { checkPositive, type OptionContext, type OptionTable, resolveTable } from './options';
import { checkTverskyWeights, regionOptions, type RegionUserOptions } from './region-options';
import { tverskyWeightOptions, type TverskyWeights } from './tversky';

/** Named reference conventions of `focal-tversky`. */
export type FocalTverskyPreset = 'odyssey';

/** Options of `focal-tversky` beyond the common ones. */
export interface FocalTverskyLossOptions {
  /** Ratios per image, averaged over images, instead of sums pooled over the batch. Default `false`. */
  readonly perImage?: boolean;
  /** Keep class 0 in the mean. Default `true`. */
  readonly includeBackground?: boolean;
  /** s ≥ 0, added to numerator and denominator. Default `1e-5`. */
  readonly smooth?: number;
  /** α ≥ 0, the weight of the false positives (α + β > 0). Default `0.3`. */
  readonly alpha?: number;
  /** β ≥ 0, the weight of the false negatives (α + β > 0). Default `0.7`. */
  readonly beta?: number;
  /** γ > 0; each class's 1 − TI is raised to 1/γ. Default `4/3`. */
  readonly gamma?: number;
  /**
   * A reference convention; explicit options override the preset's defaults.
   * - `'odyssey'`: SegLossOdyssey `FocalTversky_loss`: (1 − mean TI)^(1/γ), exponent after the
   *   mean over images and classes; perImage true, smooth 1.
   */
  readonly preset?: FocalTverskyPreset;
}

/** The user-settable own options of focal-tversky, resolved. */
export type FocalTverskyUserOptions = RegionUserOptions & TverskyWeights & { readonly gamma: number };

/** The resolved own fields of focal-tversky (native: FocalTverskyOptions). */
export type FocalTverskyOwnOptions = FocalTverskyUserOptions & {
  /** (1 − mean TI)^(1/γ) instead of mean (1 − TI)^(1/γ) (preset odyssey only). */
  readonly exponentAfterMean: boolean;
};

/** Options of focal-tversky: check, default, documentation. */
export const focalTverskyOptions: OptionTable<FocalTverskyUserOptions> = {
  ...regionOptions,
  ...tverskyWeightOptions,
  gamma: { default: 4 / 3, check: checkPositive, doc: 'γ > 0; each class term is (1 − TI)^(1/γ); default 4/3' },
};

/** Presets of focal-tversky. */
export const focalTverskyPresets: Readonly<
  Record<FocalTverskyPreset, { options: Partial<FocalTverskyUserOptions>; exponentAfterMean: boolean; doc: string }>
> = Object.freeze({
  odyssey: {
    options: { perImage: true, smooth: 1 },
    exponentAfterMean: true,
    doc: 'SegLossOdyssey FocalTversky_loss: (1 − mean TI)^(1/γ), perImage true, smooth 1',
  },
});

function resolveFocalTverskyOptions(
  user: Record<string, unknown>,
  context: OptionContext,
  namePrefix: string,
  preset: FocalTverskyPreset | undefined,
): FocalTverskyOwnOptions {
  const spec = preset ? focalTverskyPresets[preset] : undefined;
  const options = resolveTable(focalTverskyOptions, user, context, namePrefix, spec?.options);
  checkTverskyWeights(options.alpha, options.beta, namePrefix);
  return { ...options, exponentAfterMean: spec?.exponentAfterMean ?? false };
}

/** `focal-tversky` for the registry. */
export const focalTverskyDefinition = defineLoss<'focal-tversky', FocalTverskyLossOptions, FocalTverskyOwnOptions>({
  id: 'focal-tversky',
  options: focalTverskyOptions,
  presetNames: Object.keys(focalTverskyPresets),
  resolve: (user, context, prefix, preset) =>
    resolveFocalTverskyOptions(user, context, prefix, preset as FocalTverskyPreset | undefined),
});
