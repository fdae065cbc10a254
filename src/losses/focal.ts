/**
 * `focal` (spec 3; Lin et al. 2017, "Focal Loss for Dense Object Detection"): the mean over valid
 * pixels of −α_t (1 − p_t)^γ log p_t, with the softmax by default; γ = 0 is cross-entropy. The
 * mean divides by the number of valid pixels (α weighs each pixel's term; it is not a normaliser).
 *
 * Presets (explicit options override the preset's values):
 * - `monai`: MONAI `FocalLoss(use_softmax=True, to_onehot_y=True, gamma, weight=alpha)`: its mean
 *   runs over the K class channels too, so the value (and gradient) is ours divided by K. MONAI's
 *   scalar `alpha` (1 − α for the background, α for the others) is `alpha: [1 − α, α, …, α]` here.
 */
import { defineLoss } from './definition';
import { checkNonNegative, checkPerClassWeights, type OptionContext, type OptionTable, resolveTable } from './options';

/** Named reference conventions of `focal`. */
export type FocalPreset = 'monai';

/** Options of `focal` beyond the common ones. */
export interface FocalLossOptions {
  /** γ ≥ 0, the focusing exponent: (1 − p_t)^γ scales each pixel's −log p_t. Default `2`. */
  readonly gamma?: number;
  /** [K] α_c ≥ 0, a factor on the terms of the pixels of class c. Default: all 1. */
  readonly alpha?: readonly number[] | Float64Array | Float32Array;
  /** `'monai'`: MONAI FocalLoss with use_softmax (value / K). */
  readonly preset?: FocalPreset;
}

/** The user-settable own options of focal, resolved. */
export interface FocalUserOptions {
  readonly gamma: number;
  /** [K] or null (all 1). */
  readonly alpha: readonly number[] | null;
}

/** All resolved own fields of focal (native: FocalOptions). */
export interface FocalOwnOptions extends FocalUserOptions {
  /** The mean also runs over the K classes (monai). */
  readonly meanOverClasses: boolean;
}

function checkAlpha(value: unknown, name: string, context: OptionContext): readonly number[] {
  return Object.freeze(checkPerClassWeights(value, name, context));
}

/** Options of focal: check, default, documentation. */
export const focalOptions: OptionTable<FocalUserOptions> = {
  gamma: { default: 2, check: checkNonNegative, doc: 'γ ≥ 0, the focusing exponent; default 2 (0 is cross-entropy)' },
  alpha: { default: null, check: checkAlpha, doc: 'number[K] ≥ 0, a factor on each class\'s pixel terms; default none (all 1)' },
};

/** Presets of focal. */
export const focalPresets: Readonly<Record<FocalPreset, { readonly doc: string }>> = Object.freeze({
  monai: { doc: 'MONAI FocalLoss(use_softmax=True, to_onehot_y=True): value / K (its mean runs over the classes too)' },
});

/** `focal` for the registry. */
export const focalDefinition = defineLoss<'focal', FocalLossOptions, FocalOwnOptions>({
  id: 'focal',
  options: focalOptions,
  presetNames: Object.keys(focalPresets),
  resolve: (user, context, prefix, preset) => ({
    ...resolveTable(focalOptions, user, context, prefix),
    meanOverClasses: preset === 'monai',
  }),
});
