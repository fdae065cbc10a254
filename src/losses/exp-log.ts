/**
 * `exp-log` (spec 24; Wong et al. 2018, "3D segmentation with exponential logarithmic loss for
 * highly unbalanced object sizes"):
 * w_dice·mean_c (−ln Dice_c)^γ + w_ce·mean_x w_l (−ln p_l)^γ, with w_l = (Σ_k f_k / f_l)^½ from the
 * batch's label frequencies f and Dice as in `dice` (smooth 1 by default) floored at 1e-6 before the
 * log. Where a class's Dice or a pixel's p_t is exactly 1 the subgradient 0 is used (x^γ with γ < 1
 * has an infinite slope at 0).
 *
 * Preset (explicit options override the preset's values):
 * - `odyssey`: SegLossOdyssey `ExpLog_loss` with its `SoftDiceLoss` and `WeightedCrossEntropyLoss`
 *   defaults: w_dice·(−ln max(mean Dice, 1e-6))^γ (the exponent after the mean over images and
 *   classes) + w_ce·(plain cross-entropy, no weights, no exponent); perImage true, smooth 1.
 */
import { defineLoss } from './definition';
import { checkFinite, checkPositive, type OptionTable, resolveTable } from './options';
import { regionOptions, type RegionUserOptions } from './region-options';

/** Named reference conventions of `exp-log`. */
export type ExpLogPreset = 'odyssey';

/** Options of `exp-log` beyond the common ones. */
export interface ExpLogLossOptions {
  /** The weight of the Dice part. Default `0.8`. */
  readonly wDice?: number;
  /** The weight of the cross-entropy part. Default `0.2`. */
  readonly wCe?: number;
  /** γ > 0, the exponent of both parts. Default `0.3`. */
  readonly gamma?: number;
  /** Dice per image, averaged over images. Default `false`. */
  readonly perImage?: boolean;
  /** Keep class 0 in the Dice part's mean. Default `true`. */
  readonly includeBackground?: boolean;
  /** Dice's s ≥ 0. Default `1`. */
  readonly smooth?: number;
  /** `'odyssey'`: SegLossOdyssey ExpLog_loss (exponent after the Dice mean, plain CE; perImage, smooth 1). */
  readonly preset?: ExpLogPreset;
}

/** The user-settable own options of exp-log, resolved. */
export type ExpLogUserOptions = RegionUserOptions & { readonly wDice: number; readonly wCe: number; readonly gamma: number };

/** The resolved own fields of exp-log (native: ExpLogOptions). */
export type ExpLogOwnOptions = ExpLogUserOptions & {
  /** (−ln mean Dice)^γ and a plain cross-entropy (preset odyssey only). */
  readonly odysseyForm: boolean;
};

/** Options of exp-log: check, default, documentation. */
export const expLogOptions: OptionTable<ExpLogUserOptions> = {
  wDice: { default: 0.8, check: checkFinite, doc: 'the weight of the Dice part; default 0.8' },
  wCe: { default: 0.2, check: checkFinite, doc: 'the weight of the cross-entropy part; default 0.2' },
  gamma: { default: 0.3, check: checkPositive, doc: 'γ > 0, the exponent of both parts; default 0.3' },
  ...regionOptions,
  smooth: { ...regionOptions.smooth, default: 1, doc: "s ≥ 0 added to Dice's numerator and denominator; default 1" },
};

/** Presets of exp-log. */
export const expLogPresets: Readonly<Record<ExpLogPreset, { options: Partial<ExpLogUserOptions>; doc: string }>> = Object.freeze({
  odyssey: {
    options: { perImage: true, smooth: 1 },
    doc: 'SegLossOdyssey ExpLog_loss: w_dice·(−ln mean Dice)^γ + w_ce·CE; perImage true, smooth 1',
  },
});

/** `exp-log` for the registry. */
export const expLogDefinition = defineLoss<'exp-log', ExpLogLossOptions, ExpLogOwnOptions>({
  id: 'exp-log',
  options: expLogOptions,
  presetNames: Object.keys(expLogPresets),
  resolve: (user, context, prefix, preset) => {
    const spec = preset ? expLogPresets[preset as ExpLogPreset] : undefined;
    return { ...resolveTable(expLogOptions, user, context, prefix, spec?.options), odysseyForm: spec !== undefined };
  },
});
