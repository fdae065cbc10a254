/**
 * `unified-focal` (spec 25; Yeung et al. 2022, "Unified Focal loss: generalising Dice and cross
 * entropy-based losses to handle class imbalanced medical image segmentation", asymmetric form):
 * λ·L_AF + (1 − λ)·L_AFT with class 0 the background and probabilities clipped to [1e-7, 1 − 1e-7].
 * L_AF, averaged over valid pixels: (1 − δ)(1 − p_0)^γ(−ln p_0) at background pixels, δ(−ln p_c)
 * at pixels of a foreground class c. L_AFT, per image and class, TI_c = (TP + ε)/(TP + δ·FN +
 * (1 − δ)·FP + ε): 1 − TI_0 for the background, (1 − TI_c)^(1 − γ) for the foreground classes,
 * averaged over classes and images.
 *
 * Preset (explicit options override the preset's values):
 * - `monai`: MONAI `AsymmetricUnifiedFocalLoss` (binary), whose default δ is 0.7.
 */
import { defineLoss } from './definition';
import { checkUnitInterval, type OptionTable, resolveTable } from './options';

/** Named reference conventions of `unified-focal`. */
export type UnifiedFocalPreset = 'monai';

/** Options of `unified-focal` beyond the common ones. */
export interface UnifiedFocalLossOptions {
  /** λ ∈ [0, 1], the weight of the asymmetric focal loss (1 − λ weighs the asymmetric focal Tversky loss). Default `0.5`. */
  readonly lambda?: number;
  /** δ ∈ [0, 1], the weight of the foreground terms and of the false negatives. Default `0.6`. */
  readonly delta?: number;
  /** γ ∈ [0, 1], the focal exponent (background (1 − p_0)^γ; foreground (1 − TI)^(1 − γ)). Default `0.5`. */
  readonly gamma?: number;
  /** `'monai'`: MONAI AsymmetricUnifiedFocalLoss (δ 0.7). */
  readonly preset?: UnifiedFocalPreset;
}

/** The resolved own fields of unified-focal (native: UnifiedFocalOptions). */
export interface UnifiedFocalOwnOptions {
  readonly lambda: number;
  readonly delta: number;
  readonly gamma: number;
}

/** Options of unified-focal: check, default, documentation. */
export const unifiedFocalOptions: OptionTable<UnifiedFocalOwnOptions> = {
  lambda: { default: 0.5, check: checkUnitInterval, doc: 'λ ∈ [0, 1], the asymmetric focal loss weight (1 − λ on the focal Tversky loss); default 0.5' },
  delta: { default: 0.6, check: checkUnitInterval, doc: 'δ ∈ [0, 1], the foreground / false-negative weight; default 0.6' },
  gamma: { default: 0.5, check: checkUnitInterval, doc: 'γ ∈ [0, 1], the focal exponent; default 0.5' },
};

/** Presets of unified-focal. */
export const unifiedFocalPresets: Readonly<Record<UnifiedFocalPreset, { options: Partial<UnifiedFocalOwnOptions>; doc: string }>> =
  Object.freeze({
    monai: { options: { delta: 0.7 }, doc: 'MONAI AsymmetricUnifiedFocalLoss: δ 0.7' },
  });

/** `unified-focal` for the registry. */
export const unifiedFocalDefinition = defineLoss<'unified-focal', UnifiedFocalLossOptions, UnifiedFocalOwnOptions>({
  id: 'unified-focal',
  options: unifiedFocalOptions,
  presetNames: Object.keys(unifiedFocalPresets),
  resolve: (user, context, prefix, preset) =>
    resolveTable(unifiedFocalOptions, user, context, prefix, preset ? unifiedFocalPresets[preset as UnifiedFocalPreset].options : {}),
});
