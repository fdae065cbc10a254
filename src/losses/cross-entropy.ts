/**
 * `cross-entropy` (spec 1): mean over valid pixels of −log p_t, optionally class-weighted and
 * label-smoothed, exactly as torch `F.cross_entropy(weight, ignore_index, label_smoothing)`:
 *
 *   value = Σ_i [(1 − ε) w_{t_i} (−log p_{t_i}) + (ε/K) Σ_c w_c (−log p_c)] / Σ_i w_{t_i}
 *
 * over valid pixels i (w ≡ 1 without class weights). No presets.
 */
import type { ResolvedCrossEntropyTerm, ResolvedTermBase } from '../native/resolved';
import { is, rangeErrorText, rangeError, typeError } from '../validate';
import { checkUnitInterval, type OptionContext, type OptionTable, resolveTable } from './options';

/** The resolved own options of cross-entropy. */
export type CrossEntropyOwnOptions = Omit<ResolvedCrossEntropyTerm, keyof ResolvedTermBase | 'id'>;

function checkClassWeights(value: unknown, name: string, context: OptionContext): readonly number[] {
  const isFloatArray = value instanceof Float64Array || value instanceof Float32Array;
  if (!Array.isArray(value) && !isFloatArray) {
    throw typeError('an array of class weights (numbers)', name, value);
  }
  const weights = Array.from(value as ArrayLike<unknown>);
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

/** Presets of cross-entropy: none. */
export const crossEntropyPresets: Readonly<Record<string, never>> = Object.freeze({});

/** Resolves cross-entropy's own options (no presets). */
export function resolveCrossEntropyOptions(
  user: Record<string, unknown>,
  context: OptionContext,
  namePrefix: string,
): CrossEntropyOwnOptions {
  return resolveTable(crossEntropyOptions, user, context, namePrefix);
}
