/**
 * `focal` (spec 3; Lin et al. 2017, "Focal Loss for Dense Object Detection"): the mean over valid
 * pixels of −α_t (1 − p_t)^γ log p_t, with the softmax by default; γ = 0 is cross-entropy. The
 * mean divides by the number of valid pixels (α weighs each pixel's term; it is not a normaliser).
 *
 * Presets (explicit options override the preset's values):
 * - `monai`: MONAI `FocalLoss(use_softmax=True, to_onehot_y=True, gamma, weight=alpha)`: its mean
 *   runs over the K class channels too, so the value (and gradient) is ours divided by K. MONAI's
 *   scalar `alpha` (1 − α for the background, α for the others) is `alpha: [1 − α, α, …, α]` here.
 * - `smp`: segmentation_models.pytorch `FocalLoss(mode='multiclass', alpha, gamma, ignore_index)`:
 *   a per-channel sigmoid focal term, −a (1 − p̂)^γ log p̂ with p̂ = σ(z_c) where t = c and
 *   1 − σ(z_c) elsewhere, averaged over the valid pixels and the C channels. `alpha` is smp's
 *   scalar α ∈ [0, 1] (a = α on the target channel, 1 − α on the others; default none: a = 1).
 *   Needs `activation: 'sigmoid'` (its default under this preset). C = 1: smp's mode='binary'.
 */
import { defineLoss } from './definition';
import { is, typeError } from '../validate';
import { checkNonNegative, checkPerClassWeights, checkUnitInterval, type OptionContext, type OptionTable, resolveTable } from './options';

/** Named reference conventions of `focal`. */
export type FocalPreset = 'monai' | 'smp';

/** Options of `focal` beyond the common ones. */
export interface FocalLossOptions {
  /** γ ≥ 0, the focusing exponent: (1 − p_t)^γ scales each pixel's −log p_t. Default `2`. */
  readonly gamma?: number;
  /**
   * [K] α_c ≥ 0, a factor on the terms of the pixels of class c. Default: all 1. With preset
   * `'smp'`: smp's scalar α ∈ [0, 1] (a number), α on each pixel's target channel, 1 − α on the others.
   */
  readonly alpha?: readonly number[] | Float64Array | Float32Array | number;
  /** `'monai'`: MONAI FocalLoss with use_softmax (value / K); `'smp'`: smp FocalLoss, per-channel sigmoid. */
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
  /** The mean also runs over the K classes (monai, smp). */
  readonly meanOverClasses: boolean;
  /**
   * smp: under the per-channel sigmoid, every channel c ≠ t also adds its binary focal term for
   * the target 0, times this factor (1 − α, or 1 without α); 0: none.
   */
  readonly complementFactor: number;
}

function checkAlpha(value: unknown, name: string, context: OptionContext): readonly number[] {
  if (is.number(value)) {
    throw typeError(`an array of K = ${context.classes} class weights (a single number α is for preset 'smp')`, name, value);
  }
  return Object.freeze(checkPerClassWeights(value, name, context));
}

/** smp's scalar α: a number in [0, 1] (a per-class array has no smp form). */
function checkSmpAlpha(value: unknown, name: string): number {
  if (!is.number(value)) {
    throw typeError(
      "smp's scalar α, a number in [0, 1] (preset 'smp' weighs each pixel's target channel by α and the other channels by 1 − α; a per-class array has no smp form)",
      name,
      value,
    );
  }
  return checkUnitInterval(value, name);
}

/** Options of focal: check, default, documentation. */
export const focalOptions: OptionTable<FocalUserOptions> = {
  gamma: { default: 2, check: checkNonNegative, doc: 'γ ≥ 0, the focusing exponent; default 2 (0 is cross-entropy)' },
  alpha: { default: null, check: checkAlpha, doc: 'number[K] ≥ 0, a factor on each class\'s pixel terms; default none (all 1); preset smp: smp\'s scalar α in [0, 1]' },
};

/** Presets of focal. */
export const focalPresets: Readonly<Record<FocalPreset, { readonly doc: string }>> = Object.freeze({
  monai: { doc: 'MONAI FocalLoss(use_softmax=True, to_onehot_y=True): value / K (its mean runs over the classes too)' },
  smp: { doc: "smp FocalLoss(mode='multiclass'): per-channel sigmoid focal terms, mean over pixels and channels; alpha is smp's scalar α" },
});

/** The activation preset smp needs (and sets when the call gives none). */
export const focalPresetActivations: Readonly<Partial<Record<FocalPreset, 'sigmoid'>>> = Object.freeze({ smp: 'sigmoid' });

/**
 * Preset smp: the positive factor α on the true class, 1 − α on the other channels' terms, the
 * mean over the C channels; C = 1 is smp's binary mode (α on class 1, 1 − α on class 0).
 */
function resolveSmp(user: Record<string, unknown>, context: OptionContext, prefix: string): FocalOwnOptions {
  const gamma = user.gamma === undefined ? focalOptions.gamma.default : focalOptions.gamma.check(user.gamma, `${prefix}gamma`, context);
  const alpha = user.alpha === undefined ? null : checkSmpAlpha(user.alpha, `${prefix}alpha`);
  if (context.channels === 1) {
    return { gamma, alpha: alpha === null ? null : Object.freeze([1 - alpha, alpha]), meanOverClasses: false, complementFactor: 0 };
  }
  return {
    gamma,
    alpha: alpha === null ? null : Object.freeze(new Array<number>(context.classes).fill(alpha)),
    meanOverClasses: true,
    complementFactor: alpha === null ? 1 : 1 - alpha,
  };
}

/** `focal` for the registry. */
export const focalDefinition = defineLoss<'focal', FocalLossOptions, FocalOwnOptions>({
  id: 'focal',
  options: focalOptions,
  presetNames: Object.keys(focalPresets),
  presetActivations: focalPresetActivations,
  resolve: (user, context, prefix, preset) =>
    preset === 'smp'
      ? resolveSmp(user, context, prefix)
      : { ...resolveTable(focalOptions, user, context, prefix), meanOverClasses: preset === 'monai', complementFactor: 0 },
});
