// Numeric comparisons and deterministic test data.
import { expect } from 'vitest';

import type { LogitsArray } from '../../src/index';

/** |actual − expected| ≤ rel·|expected| + abs. */
export function expectClose(actual: number, expected: number, rel: number, abs: number, what = 'value'): void {
  const tolerance = rel * Math.abs(expected) + abs;
  if (!(Math.abs(actual - expected) <= tolerance)) {
    expect.fail(`${what}: ${actual} differs from ${expected} by ${Math.abs(actual - expected)} > ${tolerance}`);
  }
}

/**
 * Element-wise |a_i − e_i| ≤ rel·|e_i| + rel·floor·max|e| (an absolute floor scaled to the largest
 * entry, so entries many orders below it are not held to a relative error).
 */
export function expectArrayClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rel: number,
  floor = 1,
  what = 'grad',
): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < expected.length; ++i) max = Math.max(max, Math.abs(expected[i]));
  const abs = rel * floor * Math.max(max, Number.MIN_VALUE);
  for (let i = 0; i < expected.length; ++i) {
    const tolerance = rel * Math.abs(expected[i]) + abs;
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      expect.fail(`${what}[${i}]: ${actual[i]} differs from ${expected[i]} by ${Math.abs(actual[i] - expected[i])} > ${tolerance}`);
    }
  }
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [lo, hi). */
export function uniform(random: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * random());
}

/** n integer labels in [0, k). */
export function labels(random: () => number, n: number, k: number): number[] {
  return Array.from({ length: n }, () => Math.floor(random() * k));
}

/** Per-pixel softmax of [B, C, N] logits (float64), for building probability inputs. */
export function softmaxChannels(logits: ArrayLike<number>, batch: number, channels: number, pixels: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let b = 0; b < batch; ++b) {
    for (let i = 0; i < pixels; ++i) {
      let m = -Infinity;
      for (let c = 0; c < channels; ++c) m = Math.max(m, logits[(b * channels + c) * pixels + i]);
      let s = 0;
      for (let c = 0; c < channels; ++c) s += Math.exp(logits[(b * channels + c) * pixels + i] - m);
      for (let c = 0; c < channels; ++c) {
        out[(b * channels + c) * pixels + i] = Math.exp(logits[(b * channels + c) * pixels + i] - m) / s;
      }
    }
  }
  return out;
}

/** Central finite differences of f at x (float64), step h. */
export function finiteDifferences(f: (x: Float64Array) => number, x: Float64Array, h: number): Float64Array {
  const grad = new Float64Array(x.length);
  const probe = Float64Array.from(x);
  for (let i = 0; i < x.length; ++i) {
    probe[i] = x[i] + h;
    const up = f(probe);
    probe[i] = x[i] - h;
    const down = f(probe);
    probe[i] = x[i];
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** True when every entry is finite. */
export function allFinite(values: LogitsArray | number[]): boolean {
  for (let i = 0; i < values.length; ++i) if (!Number.isFinite(values[i])) return false;
  return true;
}

/**
 * Hard Dice of argmax(logits) against target: per class, 2|P∩G| / (|P| + |G|) pooled over the
 * batch (1 for a class in neither), then the mean over the `channels` classes. logits [B, C, N].
 */
export function hardDice(logits: ArrayLike<number>, target: ArrayLike<number>, batch: number, channels: number, pixels: number): number {
  const inter = new Float64Array(channels);
  const both = new Float64Array(channels);
  for (let b = 0; b < batch; ++b) {
    for (let i = 0; i < pixels; ++i) {
      let best = 0;
      for (let c = 1; c < channels; ++c) if (logits[(b * channels + c) * pixels + i] > logits[(b * channels + best) * pixels + i]) best = c;
      const t = target[b * pixels + i];
      inter[best] += best === t ? 1 : 0;
      both[best] += 1;
      if (t >= 0 && t < channels) both[t] += 1;
    }
  }
  let total = 0;
  for (let c = 0; c < channels; ++c) total += both[c] === 0 ? 1 : (2 * inter[c]) / both[c];
  return total / channels;
}
