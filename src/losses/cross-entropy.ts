/**
 * `cross-entropy` (spec 1): mean over valid pixels of −log p_t, optionally class-weighted and
 * label-smoothed, exactly as torch `F.cross_entropy(weight, ignore_index, label_smoothing)`:
 *
 *   value = Σ_i [(1 − ε) w_{t_i} (−log p_{t_i}) + (ε/K) Σ_c w_c (−log p_c)] / Σ_i w_{t_i}
 *
 * over valid pixels i (w ≡ 1 without class weights). No presets.
 */
import { is, rangeErrorText, rangeError, typeError } from '../validate';
import { defineLoss } from './definition';
import { checkUnitInterval, type OptionContext, type OptionTable, resolveTable } from './options';

/** Options of `cross-entropy` beyond the common ones. */
export interface CrossEntropyLossOptions {
  /** [K] per-class weights, finite and ≥ 0; the mean divides by the sum of the weights that occur. Default: all 1. */
  readonly classWeights?: readonly number[] | Float64Array | Float32Array;
  /** ε ∈ [0, 1]: the target becomes (1 − ε)·one-hot + ε/K, as torch. Default `0`. */
  readonly labelSmoothing?: number;
}

/** The resolved own fields of cross-entropy (native: CrossEntropyOptions). */
export interface CrossEntropyOwnOptions {
  /** [K] finite weights ≥ 0 (divided by their maximum), or null for all 1. */
  readonly classWeights: readonly number[] | null;
  /** ε ∈ [0, 1]. */
  readonly labelSmoothing: number;
}

function checkClassWeights(value: unknown, name: string, context: OptionContext): readonly number[] {
  const isFloatArray = value instanceof Float64Array || value instanceof Float32Array;
  if (!Array.isArray(value) && !isFloatArray) {
    throw typeError('an array of class weights (numbers)', name, value);
  }
  // A detached Float32Array / Float64Array has length 0 and cannot be iterated.
  const weights = (value as ArrayLike<unknown>).length === 0 ? [] : Array.from(value as ArrayLike<unknown>);
  if (weights.length !== context.classes) {
    throw rangeErrorText(
      `an array of K = ${context.classes} class weights (one per class)`,
      name,
      `${weights.length} weights`,
    );
  }
  weights.forEach((w, c) => {
    if (!is.number(w)) throw typeError('a number', `${name}[${c}]`, w);
    if (!Number.isFinite(w) || w < 0) throw rangeError('a finite number ≥ 0', `${name}[${c}]`, w);
  });
  return Object.freeze(normalizeWeights(weights as number[]));
}

/**
 * Weights divided by their maximum. The loss is invariant to the weights' scale (a weighted mean,
 * also with label smoothing), and this keeps Σ w·(−log p) finite for weights near the largest
 * double (1e308 would otherwise give ∞/∞ = NaN).
 */
function normalizeWeights(weights: number[]): number[] {
  const max = weights.reduce((a, b) => Math.max(a, b), 0);
  return max > 0 ? weights.map((w) => w / max) : weights;
}

/** Options of cross-entropy: check, default, documentation. */
export const crossEntropyOptions: OptionTable<CrossEntropyOwnOptions> = {
  classWeights: {
    default: null,
    check: checkClassWeights,
    doc: 'number[K], finite and ≥ 0 (only their ratios matter); weighted mean over the weights that occur; default none (all 1)',
  },
  labelSmoothing: { default: 0, check: checkUnitInterval, doc: 'ε in [0, 1], as torch; default 0' },
};

/** `cross-entropy` for the registry (no presets). */
export const crossEntropyDefinition = defineLoss<'cross-entropy', CrossEntropyLossOptions, CrossEntropyOwnOptions>({
  id: 'cross-entropy',
  options: crossEntropyOptions,
  presetNames: [],
  resolve: (user, context, prefix) => resolveTable(crossEntropyOptions, user, context, prefix),
});
