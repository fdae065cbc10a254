/**
 * `topk` (spec 2; Wu et al. 2016, "Bridging category-level and instance-level semantic image
 * segmentation"; nnU-Net `TopKLoss`): the per-pixel cross-entropy −log p_t, and the mean of the
 * k % largest of those values over the valid pixels of the whole batch, n = ⌊base · k / 100⌋ of
 * them (at least 1); only the selected pixels get a gradient. Values tied at the threshold share
 * the remaining slots equally (a subgradient that does not depend on their order).
 *
 * Preset (explicit options override the preset's values):
 * - `nnunet`: nnU-Net `TopKLoss(ignore_index, k)`: the base is every pixel of the batch, ignored
 *   ones included (their cross-entropy is 0 there and they can be among the selected values).
 */
import { defineLoss } from './definition';
import { type OptionTable, resolveTable } from './options';
import { is, rangeError, typeError } from '../validate';

/** Named reference conventions of `topk`. */
export type TopKPreset = 'nnunet';

/** Options of `topk` beyond the common ones. */
export interface TopKLossOptions {
  /** The percent of the valid pixels kept, in (0, 100]. Default `10`. */
  readonly k?: number;
  /** `'nnunet'`: nnU-Net TopKLoss (the k % base counts ignored pixels). */
  readonly preset?: TopKPreset;
}

/** The user-settable own options of topk, resolved. */
export interface TopKUserOptions {
  readonly k: number;
}

/** The resolved own fields of topk (native: TopKOptions). */
export interface TopKOwnOptions extends TopKUserOptions {
  /** The k % base counts ignored pixels as values 0 (nnunet). */
  readonly countIgnored: boolean;
}

function checkPercent(value: unknown, name: string): number {
  if (!is.number(value)) throw typeError('a number', name, value);
  if (!(value > 0 && value <= 100)) throw rangeError('a percentage in (0, 100]', name, value);
  return value;
}

/** Options of topk: check, default, documentation. */
export const topkOptions: OptionTable<TopKUserOptions> = {
  k: { default: 10, check: checkPercent, doc: 'percent of the valid pixels kept (the largest cross-entropies), in (0, 100]; default 10' },
};

/** Presets of topk. */
export const topkPresets: Readonly<Record<TopKPreset, { readonly doc: string }>> = Object.freeze({
  nnunet: { doc: 'nnU-Net TopKLoss: the k % base counts ignored pixels (cross-entropy 0)' },
});

/** `topk` for the registry. */
export const topkDefinition = defineLoss<'topk', TopKLossOptions, TopKOwnOptions>({
  id: 'topk',
  options: topkOptions,
  presetNames: Object.keys(topkPresets),
  resolve: (user, context, prefix, preset) => ({
    ...resolveTable(topkOptions, user, context, prefix),
    countIgnored: preset === 'nnunet',
  }),
});
