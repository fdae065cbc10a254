/**
 * `sensitivity-specificity` (spec 12, Brosch et al. 2015): mean over classes of
 * r · Σ(g − p)² g / (Σg + s) + (1 − r) · Σ(g − p)² (1 − g) / (Σ(1 − g) + s) over valid pixels,
 * r = 0.05: r weighs the error on the class's own pixels (sensitivity), 1 − r the error on the
 * other pixels (specificity). Region options as `dice`.
 *
 * Preset (explicit options override the preset's values):
 * - `odyssey`: SegLossOdyssey `SSLoss` — r 0.1, smooth 1, perImage true.
 */
import { defineLoss } from './definition';
import { checkUnitInterval, type OptionContext, type OptionTable, resolveTable } from './options';
import { regionOptions, type RegionUserOptions } from './region-options';

/** Named reference conventions of `sensitivity-specificity`. */
export type SensitivitySpecificityPreset = 'odyssey';

/** Options of `sensitivity-specificity` beyond the common ones. */
export interface SensitivitySpecificityLossOptions {
  /** Sums per image, averaged over images, instead of sums pooled over the batch. Default `false`. */
  readonly perImage?: boolean;
  /** Keep class 0 in the mean. Default `true`. */
  readonly includeBackground?: boolean;
  /** s ≥ 0, added to both denominators. Default `1e-5`. */
  readonly smooth?: number;
  /** r ∈ [0, 1], the weight of the sensitivity term (1 − r on the specificity term). Default `0.05`. */
  readonly r?: number;
  /**
   * A reference convention; explicit options override the preset's defaults.
   * - `'odyssey'`: SegLossOdyssey `SSLoss`: r 0.1, smooth 1, perImage true.
   */
  readonly preset?: SensitivitySpecificityPreset;
}

/** The resolved own fields of sensitivity-specificity (native: SensitivitySpecificityOptions). */
export type SensitivitySpecificityOwnOptions = RegionUserOptions & { readonly r: number };

/** Options of sensitivity-specificity: check, default, documentation. */
export const sensitivitySpecificityOptions: OptionTable<SensitivitySpecificityOwnOptions> = {
  ...regionOptions,
  smooth: { default: 1e-5, check: regionOptions.smooth.check, doc: 's ≥ 0 added to both denominators; default 1e-5' },
  r: { default: 0.05, check: checkUnitInterval, doc: 'r ∈ [0, 1], weight of the sensitivity term; default 0.05' },
};

/** Presets of sensitivity-specificity. */
export const sensitivitySpecificityPresets: Readonly<
  Record<SensitivitySpecificityPreset, { options: Partial<SensitivitySpecificityOwnOptions>; doc: string }>
> = Object.freeze({
  odyssey: { options: { r: 0.1, smooth: 1, perImage: true }, doc: 'SegLossOdyssey SSLoss: r 0.1, smooth 1, perImage true' },
});

function resolveSensitivitySpecificityOptions(
  user: Record<string, unknown>,
  context: OptionContext,
  namePrefix: string,
  preset: SensitivitySpecificityPreset | undefined,
): SensitivitySpecificityOwnOptions {
  const spec = preset ? sensitivitySpecificityPresets[preset] : undefined;
  return resolveTable(sensitivitySpecificityOptions, user, context, namePrefix, spec?.options);
}

/** `sensitivity-specificity` for the registry. */
export const sensitivitySpecificityDefinition = defineLoss<
  'sensitivity-specificity',
  SensitivitySpecificityLossOptions,
  SensitivitySpecificityOwnOptions
>({
  id: 'sensitivity-specificity',
  options: sensitivitySpecificityOptions,
  presetNames: Object.keys(sensitivitySpecificityPresets),
  resolve: (user, context, prefix, preset) =>
    resolveSensitivitySpecificityOptions(user, context, prefix, preset as SensitivitySpecificityPreset | undefined),
});
