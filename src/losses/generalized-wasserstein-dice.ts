/**
 * `generalized-wasserstein-dice` (spec 7; Fidon et al. 2017, "Generalised Wasserstein Dice Score
 * for Imbalanced Multi-class Segmentation"): with a distance matrix M between the K classes
 * (class 0 the background), W_i = Σ_c M[t_i, c] p_ic at each valid pixel and, per image,
 * TP = Σ_i α_{t_i} (1 − W_i), loss = 1 − (2 TP + ε) / (D + ε), ε = 2⁻⁵²; the value is the mean
 * over images.
 * - `weighting: 'default'` (Fidon 2017): α = 0 for the background, 1 otherwise; D = 2 TP + Σ_i W_i.
 * - `weighting: 'gdl'` (Tilborghs et al. 2020): α_a = 1 / (G_a + 1) (G_a the image's pixels of
 *   class a); D = Σ_i α_{t_i} (2 − W_i).
 *
 * `distanceMatrix` is scaled so that its largest entry is 1, as the reference does. Default: every
 * pair of distinct classes at distance 1 (M = 1 − I).
 */
import { defineLoss } from './definition';
import { type OptionContext, type OptionTable, resolveTable } from './options';
import { is, quoteList, rangeError, rangeErrorText, typeError } from '../validate';

/** How the classes' errors are weighted. */
export type WassersteinWeighting = 'default' | 'gdl';

/** Options of `generalized-wasserstein-dice` beyond the common ones. */
export interface GeneralizedWassersteinDiceLossOptions {
  /**
   * M, the distances between the K classes: K arrays of K numbers, or a Float64Array of K·K
   * numbers (row-major). Symmetric, ≥ 0, zero diagonal, not all zero; scaled here so that its
   * largest entry is 1. K = C (2 when C = 1). Default: 1 between any two distinct classes.
   */
  readonly distanceMatrix?: readonly (readonly number[])[] | Float64Array;
  /** `'default'` (Fidon 2017: α 0 for the background, 1 otherwise) or `'gdl'` (α_a = 1 / (G_a + 1)). Default `'default'`. */
  readonly weighting?: WassersteinWeighting;
}

/** The resolved own fields (native: GeneralizedWassersteinDiceOptions). */
export interface GeneralizedWassersteinDiceOwnOptions {
  /** [K·K] row-major M scaled to max 1, or null (1 − I). */
  readonly distanceMatrix: readonly number[] | null;
  readonly gdlWeighting: boolean;
}

interface UserFields {
  readonly distanceMatrix: readonly number[] | null;
  readonly weighting: WassersteinWeighting;
}

const weightings: readonly WassersteinWeighting[] = Object.freeze(['default', 'gdl']);

/** The rows of a K×K matrix given as nested arrays or a flat Float64Array, as numbers (unchecked). */
function matrixEntries(value: unknown, name: string, classes: number): unknown[][] {
  if (value instanceof Float64Array) {
    if (value.length !== classes * classes) {
      throw rangeErrorText(`a Float64Array of K·K = ${classes * classes} entries (K = ${classes} classes)`, name, `length ${value.length}`);
    }
    return Array.from({ length: classes }, (_, a) => Array.from(value.subarray(a * classes, (a + 1) * classes)));
  }
  if (!Array.isArray(value)) throw typeError(`a K×K matrix (K = ${classes} arrays of ${classes} numbers, or a Float64Array)`, name, value);
  if (value.length !== classes) throw rangeErrorText(`K = ${classes} rows (a K×K matrix)`, name, `${value.length} rows`);
  return value.map((row: unknown, a) => {
    if (!Array.isArray(row)) throw typeError(`an array of K = ${classes} numbers`, `${name}[${a}]`, row);
    if (row.length !== classes) throw rangeErrorText(`K = ${classes} entries`, `${name}[${a}]`, `${row.length} entries`);
    return row as unknown[];
  });
}

/** Checks M (K×K, finite, ≥ 0, zero diagonal, symmetric, not all zero); returns it flat, scaled to max 1. */
function checkDistanceMatrix(value: unknown, name: string, context: OptionContext): readonly number[] {
  const K = context.classes;
  const rows = matrixEntries(value, name, K);
  let largest = 0;
  rows.forEach((row, a) =>
    row.forEach((v, c) => {
      const at = `${name}[${a}][${c}]`;
      if (!is.number(v)) throw typeError('a number', at, v);
      if (!Number.isFinite(v) || v < 0) throw rangeError('a finite distance ≥ 0', at, v);
      largest = Math.max(largest, v);
    }),
  );
  for (let a = 0; a < K; ++a) {
    if (rows[a][a] !== 0) throw rangeError('0 (a class is at distance 0 from itself)', `${name}[${a}][${a}]`, rows[a][a]);
    for (let c = a + 1; c < K; ++c) {
      if (rows[a][c] !== rows[c][a]) {
        throw rangeErrorText(`a symmetric matrix (${name}[${c}][${a}] = ${String(rows[c][a])})`, `${name}[${a}][${c}]`, String(rows[a][c]));
      }
    }
  }
  if (largest === 0) throw rangeErrorText('a matrix with some distance > 0', name, 'all zeros');
  return Object.freeze(rows.flat().map((v) => (v as number) / largest));
}

function checkWeighting(value: unknown, name: string): WassersteinWeighting {
  if (!is.string(value)) throw typeError(`one of ${quoteList(weightings)}`, name, value);
  if (!is.oneOf(value, weightings)) throw rangeError(`one of ${quoteList(weightings)}`, name, value);
  return value;
}

/** Options of generalized-wasserstein-dice: check, default, documentation. */
export const generalizedWassersteinDiceOptions: OptionTable<UserFields> = {
  distanceMatrix: {
    default: null,
    check: checkDistanceMatrix,
    doc: 'K×K class distances (nested arrays or a Float64Array; symmetric, ≥ 0, zero diagonal; scaled to max 1); default 1 − I',
  },
  weighting: {
    default: 'default',
    check: checkWeighting,
    doc: "'default' (α 0 for the background, 1 otherwise) | 'gdl' (α_a = 1/(G_a + 1)); default 'default'",
  },
};

/** `generalized-wasserstein-dice` for the registry. */
export const generalizedWassersteinDiceDefinition = defineLoss<
  'generalized-wasserstein-dice',
  GeneralizedWassersteinDiceLossOptions,
  GeneralizedWassersteinDiceOwnOptions
>({
  id: 'generalized-wasserstein-dice',
  options: generalizedWassersteinDiceOptions,
  presetNames: [],
  resolve: (user, context, prefix) => {
    const { distanceMatrix, weighting } = resolveTable(generalizedWassersteinDiceOptions, user, context, prefix);
    return { distanceMatrix, gdlWeighting: weighting === 'gdl' };
  },
});
