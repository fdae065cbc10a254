/**
 * `lovasz-softmax` (spec 9; Berman, Rannen Triki & Blaschko 2018, "The Lovász-Softmax loss"): per
 * class c, the errors e_i = |g_ic − p_ic| over the valid pixels sorted in decreasing order,
 * loss_c = Σ_r e_(r) · ΔJ_r with ΔJ the Lovász extension gradient of the Jaccard loss
 * (J_r = 1 − (G − F_r)/(G + B_r), F_r / B_r the class / other pixels among the r largest errors),
 * and the mean of loss_c over the classes averaged. Sums pool the batch unless `perImage`.
 */
import { defineLoss } from './definition';
import { checkBoolean, type OptionContext, type OptionTable, resolveTable } from './options';
import { is, rangeError, rangeErrorText, typeError } from '../validate';

/** Which classes `lovasz-softmax` averages. */
export type LovaszClasses = 'present' | 'all' | readonly number[];

/** Options of `lovasz-softmax` beyond the common ones. */
export interface LovaszSoftmaxLossOptions {
  /**
   * `'present'`: the classes that occur among the group's valid pixels (absent ones are skipped);
   * `'all'`: every class (an absent class's term is its largest error); or a list of distinct
   * class indices (each averaged whether present or not). Default `'present'`.
   */
  readonly classes?: LovaszClasses;
  /** One loss per image, averaged over the images, instead of one over the pooled batch. Default `false`. */
  readonly perImage?: boolean;
}

/** The user-settable own options of lovasz-softmax, resolved. */
export interface LovaszSoftmaxUserOptions {
  readonly classes: 'present' | 'all' | readonly number[];
  readonly perImage: boolean;
}

/** The resolved own fields of lovasz-softmax (native: LovaszSoftmaxOptions). */
export interface LovaszSoftmaxOwnOptions {
  /** Skip classes absent from the group ('present'). */
  readonly presentOnly: boolean;
  /** The listed classes, or null (every class). */
  readonly classList: readonly number[] | null;
  readonly perImage: boolean;
}

function checkClasses(value: unknown, name: string, context: OptionContext): LovaszClasses {
  if (value === 'present' || value === 'all') return value;
  if (is.string(value)) throw rangeError("'present', 'all' or an array of class indices", name, value);
  if (!Array.isArray(value)) throw typeError("'present', 'all' or an array of class indices", name, value);
  if (value.length === 0) throw rangeErrorText('at least one class index', name, '[]');
  const seen = new Set<number>();
  value.forEach((c: unknown, i) => {
    if (!is.number(c)) throw typeError('a class index (an integer)', `${name}[${i}]`, c);
    if (!is.integer(c) || c < 0 || c >= context.classes) {
      throw rangeError(`a class index in [0, ${context.classes})`, `${name}[${i}]`, c);
    }
    if (seen.has(c)) throw rangeError('a class index not listed before', `${name}[${i}]`, c);
    seen.add(c);
  });
  return Object.freeze([...(value as number[])]);
}

/** Options of lovasz-softmax: check, default, documentation. */
export const lovaszSoftmaxOptions: OptionTable<LovaszSoftmaxUserOptions> = {
  classes: {
    default: 'present',
    check: checkClasses,
    doc: "'present' | 'all' | number[] (distinct class indices): the classes averaged; default 'present'",
  },
  perImage: { default: false, check: checkBoolean, doc: 'one loss per image, averaged over images; default false (the batch pooled)' },
};

/** `lovasz-softmax` for the registry. */
export const lovaszSoftmaxDefinition = defineLoss<'lovasz-softmax', LovaszSoftmaxLossOptions, LovaszSoftmaxOwnOptions>({
  id: 'lovasz-softmax',
  options: lovaszSoftmaxOptions,
  presetNames: [],
  resolve: (user, context, prefix) => {
    const { classes, perImage } = resolveTable(lovaszSoftmaxOptions, user, context, prefix);
    return {
      presentOnly: classes === 'present',
      classList: typeof classes === 'string' ? null : classes,
      perImage,
    };
  },
});
