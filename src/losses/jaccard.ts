/**
 * `jaccard` (spec 8): 1 − mean_c (I_c + s) / (P_c + G_c − I_c + s), the soft Jaccard (IoU) loss,
 * with I_c = Σ v p_c g_c, P_c = Σ v p_c (Σ v p_c² when squared), G_c = Σ v g_c over valid pixels
 * v. `perImage` computes the ratio per (image, class) and averages over images; otherwise the
 * sums are pooled over the batch (the survey's code, with smooth 1).
 *
 * Preset (explicit options override the preset's values):
 * - `monai`: MONAI `DiceLoss(jaccard=True)` — perImage true, smooth 1e-5. MONAI computes
 *   (2I + s) / (2(P + G − I) + s) = (I + s/2) / (P + G − I + s/2), so under this preset `smooth`
 *   s reaches the core as s/2.
 */
import { defineLoss } from './definition';
import { checkBoolean, type OptionContext, type OptionTable, resolveTable } from './options';
import { regionOptions, type RegionUserOptions } from './region-options';

/** Named reference conventions of `jaccard`. */
export type JaccardPreset = 'monai';

/** Options of `jaccard` beyond the common ones. */
export interface JaccardLossOptions {
  /** Ratios per image, averaged over images (MONAI), instead of sums pooled over the batch. Default `false`. */
  readonly perImage?: boolean;
  /** Keep class 0 in the mean. Default `true`. */
  readonly includeBackground?: boolean;
  /** s ≥ 0, added to numerator and denominator. Default `1e-5`. */
  readonly smooth?: number;
  /** Σp² in place of Σp in the denominator (MONAI `squared_pred`). Default `false`. */
  readonly squared?: boolean;
  /**
   * A reference convention; explicit options override the preset's defaults.
   * - `'monai'`: MONAI `DiceLoss(jaccard=True, softmax=True, to_onehot_y=True)`: perImage true,
   *   smooth 1e-5 (MONAI's smooth s on 2I and 2(P + G − I) is our s/2).
   */
  readonly preset?: JaccardPreset;
}

/** The resolved own fields of jaccard (native: JaccardOptions). */
export interface JaccardOwnOptions extends RegionUserOptions {
  readonly squared: boolean;
}

/** Options of jaccard: check, default, documentation. */
export const jaccardOptions: OptionTable<JaccardOwnOptions> = {
  ...regionOptions,
  squared: { default: false, check: checkBoolean, doc: 'Σp² in place of Σp in the denominator (MONAI squared_pred); default false' },
};

/** Presets of jaccard: defaults for user options, and a factor on smooth. */
export const jaccardPresets: Readonly<Record<JaccardPreset, { options: Partial<JaccardOwnOptions>; smoothFactor: number; doc: string }>> =
  Object.freeze({
    monai: {
      options: { perImage: true, smooth: 1e-5 },
      smoothFactor: 0.5,
      doc: 'MONAI DiceLoss(jaccard=True): perImage true, smooth 1e-5 (its s on 2I and 2(P + G − I) is the core’s s/2)',
    },
  });

function resolveJaccardOptions(
  user: Record<string, unknown>,
  context: OptionContext,
  namePrefix: string,
  preset: JaccardPreset | undefined,
): JaccardOwnOptions {
  const spec = preset ? jaccardPresets[preset] : undefined;
  const options = resolveTable(jaccardOptions, user, context, namePrefix, spec?.options);
  return { ...options, smooth: options.smooth * (spec?.smoothFactor ?? 1) };
}

/** `jaccard` for the registry. */
export const jaccardDefinition = defineLoss<'jaccard', JaccardLossOptions, JaccardOwnOptions>({
  id: 'jaccard',
  options: jaccardOptions,
  presetNames: Object.keys(jaccardPresets),
  resolve: (user, context, prefix, preset) => resolveJaccardOptions(user, context, prefix, preset as JaccardPreset | undefined),
});
