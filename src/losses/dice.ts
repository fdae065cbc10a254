/**
 * `dice` (spec 5): 1 − mean_c (2 I_c + s) / (P_c + G_c + s), with I_c = Σ v p_c g_c,
 * P_c = Σ v p_c (Σ v p_c² when squared), G_c = Σ v g_c over valid pixels v. `perImage` computes the
 * ratio per (image, class) and averages over images; otherwise the sums are pooled over the batch.
 * `logLoss` gives mean_c −log(max(D_c, 1e-7)).
 *
 * Presets (explicit options override the preset's values):
 * - `monai`: MONAI `DiceLoss` — perImage true, smooth 1e-5.
 * - `smp`: segmentation_models_pytorch `DiceLoss('multiclass')` — perImage false, smooth 0,
 *   classes absent from the target contribute 0 (still counted in the mean). smp's score is
 *   (I + s) / max(½(P + G) + s, 1e-7) = (2I + 2s) / max(P + G + 2s, 2e-7), so under this preset
 *   `smooth` s reaches the core as 2s and the denominator is clamped at 2e-7.
 * - `nnunet`: nnU-Net `MemoryEfficientSoftDiceLoss` — includeBackground false, smooth 1e-5,
 *   denominator clamped at 1e-8, value −mean_c D_c; perImage stays the caller's (default false).
 */
import { defineLoss } from './definition';
import { checkBoolean, checkNonNegative, type OptionContext, type OptionTable, resolveTable } from './options';

/** Named reference conventions of `dice`. */
export type DicePreset = 'monai' | 'smp' | 'nnunet';

/** Options of `dice` beyond the common ones. */
export interface DiceLossOptions {
  /** Ratios per image, averaged over images (MONAI), instead of sums pooled over the batch. Default `false`. */
  readonly perImage?: boolean;
  /** Keep class 0 in the mean. Default `true`. */
  readonly includeBackground?: boolean;
  /** s ≥ 0, added to numerator and denominator. Default `1e-5`. */
  readonly smooth?: number;
  /** Σp² and Σg² in the denominator (V-Net). Default `false`. */
  readonly squared?: boolean;
  /** mean_c −log(max(D_c, 1e-7)) instead of 1 − mean_c D_c. Default `false`. */
  readonly logLoss?: boolean;
  /**
   * A reference convention; explicit options override the preset's defaults.
   * - `'monai'`: MONAI `DiceLoss(softmax=True, to_onehot_y=True)`: perImage true, smooth 1e-5.
   * - `'smp'`: segmentation_models_pytorch `DiceLoss('multiclass')`: perImage false, smooth 0,
   *   denominators clamped at 1e-7, classes absent from the target contribute 0 to the mean.
   * - `'nnunet'`: nnU-Net `MemoryEfficientSoftDiceLoss`: includeBackground false, smooth 1e-5,
   *   denominators clamped at 1e-8, value −mean_c D_c (no `1 −`); perImage stays yours (default
   *   false, nnU-Net's batch dice).
   */
  readonly preset?: DicePreset;
}

/** The user-settable own options of dice, resolved. */
export interface DiceUserOptions {
  readonly perImage: boolean;
  readonly includeBackground: boolean;
  readonly smooth: number;
  readonly squared: boolean;
  readonly logLoss: boolean;
}

/** The fields only presets set (not user options). */
export interface DiceInternalOptions {
  /** Denominators below it are clamped to it (smp 2e-7, nnU-Net 1e-8, else 0). */
  readonly denominatorClamp: number;
  /** Classes absent from the target contribute 0 to the mean (smp). */
  readonly zeroAbsentClasses: boolean;
  /** value = offset − mean D (1, or 0 for nnU-Net). */
  readonly offset: number;
}

/** All resolved own fields of dice (native: DiceOptions). */
export type DiceOwnOptions = DiceUserOptions & DiceInternalOptions;

/** Options of dice: check, default, documentation. */
export const diceOptions: OptionTable<DiceUserOptions> = {
  perImage: {
    default: false,
    check: checkBoolean,
    doc: 'ratios per image, averaged over images (MONAI); default false (sums pooled over the batch)',
  },
  includeBackground: { default: true, check: checkBoolean, doc: 'keep class 0 in the mean; default true' },
  smooth: { default: 1e-5, check: checkNonNegative, doc: 's ≥ 0 added to numerator and denominator; default 1e-5' },
  squared: { default: false, check: checkBoolean, doc: 'Σp² + Σg² in the denominator (V-Net); default false' },
  logLoss: { default: false, check: checkBoolean, doc: 'mean_c −log(max(D_c, 1e-7)); default false' },
};

/** The internal fields when no preset is given. */
export const diceInternalDefaults: DiceInternalOptions = Object.freeze({
  denominatorClamp: 0,
  zeroAbsentClasses: false,
  offset: 1,
});

/** A preset: defaults for user options, and the internal fields. */
export interface DicePresetSpec {
  readonly options: Partial<DiceUserOptions>;
  readonly internal: DiceInternalOptions;
  readonly doc: string;
}

/** Presets of dice. */
export const dicePresets: Readonly<Record<DicePreset, DicePresetSpec>> = Object.freeze({
  monai: {
    options: { perImage: true, smooth: 1e-5 },
    internal: diceInternalDefaults,
    doc: 'MONAI DiceLoss: perImage true, smooth 1e-5',
  },
  smp: {
    options: { perImage: false, smooth: 0 },
    internal: { denominatorClamp: 2e-7, zeroAbsentClasses: true, offset: 1 },
    doc: "smp DiceLoss('multiclass'): batch sums, smooth 0 (smp's smooth s is the core's 2s), denominator ≥ 2e-7 (smp's eps 1e-7 on ½(P + G) + s), absent classes contribute 0",
  },
  nnunet: {
    options: { includeBackground: false, smooth: 1e-5 },
    internal: { denominatorClamp: 1e-8, zeroAbsentClasses: false, offset: 0 },
    doc: 'nnU-Net MemoryEfficientSoftDiceLoss: no background, smooth 1e-5, denominator ≥ 1e-8, value −mean D',
  },
});

/** Resolves dice's own options; `preset` has been checked already (or is undefined). */
function resolveDiceOptions(
  user: Record<string, unknown>,
  context: OptionContext,
  namePrefix: string,
  preset: DicePreset | undefined,
): DiceOwnOptions {
  const spec = preset ? dicePresets[preset] : undefined;
  const options = resolveTable(diceOptions, user, context, namePrefix, spec?.options);
  const smooth = preset === 'smp' ? 2 * options.smooth : options.smooth;
  return { ...options, smooth, ...(spec?.internal ?? diceInternalDefaults) };
}

/** `dice` for the registry. */
export const diceDefinition = defineLoss<'dice', DiceLossOptions, DiceOwnOptions>({
  id: 'dice',
  options: diceOptions,
  presetNames: Object.keys(dicePresets),
  resolve: (user, context, prefix, preset) => resolveDiceOptions(user, context, prefix, preset as DicePreset | undefined),
});
