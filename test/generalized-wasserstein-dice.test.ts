// generalized-wasserstein-dice beyond the parity fixtures (test/fixtures/generalized-wasserstein-dice.fidon.json,
// which hold no ignored pixels): ignored pixels and the distance-matrix scaling against the plain
// formula of test/helpers/reference.ts, identities, the per-image mean (MONAI ≤ 1.5 mixed the
// batch items), gradient descent to hard Dice ≥ 0.99, the async call, and every bad distance matrix.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, type LossShape } from '../src/index';
import { allFinite, expectArrayClose, expectClose, labels, rng, uniform, hardDice } from './helpers/numeric';
import { referenceGeneralizedWassersteinDice } from './helpers/reference';

const loss = 'generalized-wasserstein-dice' as const;
const M4 = [
  [0, 1, 1, 1],
  [1, 0, 0.6, 0.5],
  [1, 0.6, 0, 0.7],
  [1, 0.5, 0.7, 0],
];
const zeroOne = (k: number): number[][] => Array.from({ length: k }, (_, a) => Array.from({ length: k }, (_, c) => (a === c ? 0 : 1)));

function makeInput(shape: LossShape, seed: number, ignore: number | null): { logits: Float64Array; target: Uint8Array } {
  const random = rng(seed);
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const logits = Float64Array.from(uniform(random, batch * channels * pixels, -3, 3));
  const target = Uint8Array.from(labels(random, batch * pixels, channels));
  if (ignore !== null) for (let j = 2; j < target.length; j += 3) target[j] = ignore;
  return { logits, target };
}

describe('equals its formula with ignored pixels (float64)', () => {
  it.each([
    ['default, M', [2, 4, 5, 7] as LossShape, { distanceMatrix: M4 }, M4, 'default'],
    ['gdl, M', [2, 4, 5, 7] as LossShape, { distanceMatrix: M4, weighting: 'gdl' }, M4, 'gdl'],
    ['default M = 1 − I, volume', [2, 3, 3, 4, 5] as LossShape, {}, zeroOne(3), 'default'],
    ['gdl, 1×1 images', [3, 3, 1, 1] as LossShape, { weighting: 'gdl' }, zeroOne(3), 'gdl'],
  ] as const)('%s', (_name, shape, options, M, weighting) => {
    const { logits, target } = makeInput(shape, 50, 255);
    const r = computeLoss(loss, { logits, target, shape }, { ...options, ignoreIndex: 255, grad: true });
    expectClose(r.value, referenceGeneralizedWassersteinDice(logits, target, shape, M, { weighting, ignoreIndex: 255 }), 1e-12, 1e-15);
    expect(allFinite(r.grad)).toBe(true);
  });

  it('ignored pixels: their logits change nothing, their gradient is 0', () => {
    const shape = [2, 4, 3, 5] as const;
    const { logits, target } = makeInput(shape, 51, 255);
    const a = computeLoss(loss, { logits, target, shape }, { distanceMatrix: M4, ignoreIndex: 255, grad: true });
    const moved = Float64Array.from(logits);
    target.forEach((t, j) => {
      if (t !== 255) return;
      const [b, i] = [Math.floor(j / 15), j % 15];
      for (let c = 0; c < 4; ++c) moved[(b * 4 + c) * 15 + i] += 3 * (c - 1.5);
    });
    const b = computeLoss(loss, { logits: moved, target, shape }, { distanceMatrix: M4, ignoreIndex: 255, grad: true });
    expect(b.value).toBe(a.value);
    target.forEach((t, j) => {
      if (t !== 255) return;
      const [bb, i] = [Math.floor(j / 15), j % 15];
      for (let c = 0; c < 4; ++c) expect(a.grad[(bb * 4 + c) * 15 + i]).toBe(0);
    });
  });
});

describe('identities', () => {
  const shape = [2, 4, 6, 5] as const;
  const { logits, target } = makeInput(shape, 52, null);
  const input = { logits, target, shape };

  it('the distance matrix is scaled to max 1 (M and 7·M agree); nested rows = Float64Array', () => {
    const a = computeLoss(loss, input, { distanceMatrix: M4, grad: true });
    const b = computeLoss(loss, input, { distanceMatrix: M4.map((r) => r.map((v) => 7 * v)), grad: true });
    const c = computeLoss(loss, input, { distanceMatrix: new Float64Array(M4.flat()), grad: true });
    expectClose(b.value, a.value, 1e-15, 0);
    expectArrayClose(b.grad, a.grad, 1e-14);
    expect(c.value).toBe(a.value);
    expect(Array.from(c.grad)).toEqual(Array.from(a.grad));
  });

  it('M = 1 − I: the region-moment head (no confusion pass) equals the confusion head of a matrix 1e-9 away, and 1 − I given is the default', () => {
    const shape = [2, 4, 6, 5] as LossShape;
    const { logits, target } = makeInput(shape, 61, 255);
    const near = zeroOne(4).map((r, a) => r.map((v, c) => (a !== c && a + c === 3 ? v - 1e-9 : v)));
    for (const weighting of ['default', 'gdl'] as const) {
      const options = { weighting, ignoreIndex: 255, grad: true } as const;
      const byMoments = computeLoss(loss, { logits, target, shape }, options);
      const given = computeLoss(loss, { logits, target, shape }, { ...options, distanceMatrix: zeroOne(4) });
      const byConfusion = computeLoss(loss, { logits, target, shape }, { ...options, distanceMatrix: near });
      expect(given.value).toBe(byMoments.value);
      expect(given.grad).toEqual(byMoments.grad);
      expectClose(byMoments.value, byConfusion.value, 1e-8, 1e-12);
      expectArrayClose(byMoments.grad, byConfusion.grad, 1e-7, 1); // the 1e-9 moves the gradient by ~1e-8 of its largest entry
    }
  });

  it('the mean over images: a batch of two is the mean of each image alone (no mixing of batch items)', () => {
    const whole = computeLoss(loss, input, { distanceMatrix: M4 }).value;
    const n = 4 * 30;
    const first = computeLoss(loss, { logits: logits.subarray(0, n), target: target.subarray(0, 30), shape: [1, 4, 6, 5] }, { distanceMatrix: M4 }).value;
    const second = computeLoss(loss, { logits: logits.subarray(n), target: target.subarray(30), shape: [1, 4, 6, 5] }, { distanceMatrix: M4 }).value;
    expectClose(whole, (first + second) / 2, 1e-14, 0);
  });

  it('float32 agrees with float64 to 1e-6', () => {
    const a = computeLoss(loss, input, { distanceMatrix: M4, weighting: 'gdl', grad: true });
    const b = computeLoss(loss, { ...input, logits: Float32Array.from(logits) }, { distanceMatrix: M4, weighting: 'gdl', grad: true });
    expectClose(b.value, a.value, 1e-6, 0);
    expectArrayClose(b.grad, a.grad, 1e-5);
  });

  it('a perfect prediction has a loss ≈ 0, a uniform one does not', () => {
    const perfect = new Float64Array(logits.length);
    target.forEach((t, j) => (perfect[(Math.floor(j / 30) * 4 + t) * 30 + (j % 30)] = 40));
    expect(computeLoss(loss, { logits: perfect, target, shape }, { distanceMatrix: M4 }).value).toBeLessThan(1e-12);
    expect(computeLoss(loss, { logits: new Float64Array(logits.length), target, shape }, { distanceMatrix: M4 }).value).toBeGreaterThan(0.3);
  });
});

describe('gradient descent on the logits reaches hard Dice ≥ 0.99 from a random start', () => {
  const shape = [2, 3, 6, 6] as const;
  const random = rng(53);
  const target = Uint8Array.from(labels(random, 72, 3));
  const start = Float64Array.from(uniform(random, 216, -2, 2));
  it.each([
    ['default', {}],
    ['gdl', { weighting: 'gdl' }],
    ['distance matrix', { distanceMatrix: [[0, 1, 1], [1, 0, 0.3], [1, 0.3, 0]] }],
  ] as const)('%s', (_name, options) => {
    const logits = Float64Array.from(start);
    expect(hardDice(logits, target, 2, 3, 36)).toBeLessThan(0.6);
    for (let step = 0; step < 400 && hardDice(logits, target, 2, 3, 36) < 0.99; ++step) {
      const { grad } = computeLoss(loss, { logits, target, shape }, { ...options, grad: true });
      const scale = Array.from(grad).reduce((m, g) => Math.max(m, Math.abs(g)), 0);
      for (let k = 0; k < logits.length; ++k) logits[k] -= (0.5 * grad[k]) / scale;
    }
    expect(hardDice(logits, target, 2, 3, 36)).toBeGreaterThanOrEqual(0.99);
  });
});

describe('computeLossAsync gives the very result of computeLoss', () => {
  it('float32, gdl, ignore', async () => {
    const shape = [2, 4, 9, 20] as const;
    const { logits, target } = makeInput(shape, 54, 255);
    const input = { logits: Float32Array.from(logits), target, shape };
    const options = { distanceMatrix: M4, weighting: 'gdl', ignoreIndex: 255, grad: true } as const;
    const sync = computeLoss(loss, input, options);
    const async = await computeLossAsync(loss, input, options);
    expect(async.value).toBe(sync.value);
    expect(Array.from(async.grad)).toEqual(Array.from(sync.grad));
  });
});

describe('bad distance matrices and weightings', () => {
  const shape = [1, 3, 2, 2] as const;
  const input = { logits: new Float32Array(12), target: new Uint8Array(4), shape };
  const call = (options: Record<string, unknown>) => () => computeLoss(loss, input, options as never);
  it.each([
    ['not an array', { distanceMatrix: 3 }, TypeError, 'Expected a K×K matrix (K = 3 arrays of 3 numbers, or a Float64Array) for distanceMatrix but received 3'],
    ['2 rows for K = 3', { distanceMatrix: [[0, 1], [1, 0]] }, RangeError, 'Expected K = 3 rows (a K×K matrix) for distanceMatrix but received 2 rows'],
    ['a short row', { distanceMatrix: [[0, 1, 1], [1, 0], [1, 1, 0]] }, RangeError, 'Expected K = 3 entries for distanceMatrix[1] but received 2 entries'],
    ['a row that is not an array', { distanceMatrix: [[0, 1, 1], 'x', [1, 1, 0]] }, TypeError, "Expected an array of K = 3 numbers for distanceMatrix[1] but received 'x'"],
    ['Float64Array of 4', { distanceMatrix: new Float64Array(4) }, RangeError, 'Expected a Float64Array of K·K = 9 entries (K = 3 classes) for distanceMatrix but received length 4'],
    ['a string entry', { distanceMatrix: [[0, 1, 1], [1, 0, '1'], [1, 1, 0]] }, TypeError, "Expected a number for distanceMatrix[1][2] but received '1'"],
    ['negative', { distanceMatrix: [[0, 1, -1], [1, 0, 1], [-1, 1, 0]] }, RangeError, 'Expected a finite distance ≥ 0 for distanceMatrix[0][2] but received -1'],
    ['NaN', { distanceMatrix: [[0, 1, 1], [1, 0, Number.NaN], [1, 1, 0]] }, RangeError, 'Expected a finite distance ≥ 0 for distanceMatrix[1][2] but received NaN'],
    ['non-zero diagonal', { distanceMatrix: [[0, 1, 1], [1, 0.5, 1], [1, 1, 0]] }, RangeError, 'Expected 0 (a class is at distance 0 from itself) for distanceMatrix[1][1] but received 0.5'],
    ['not symmetric', { distanceMatrix: [[0, 1, 0.5], [1, 0, 1], [1, 1, 0]] }, RangeError, 'Expected a symmetric matrix (distanceMatrix[2][0] = 1) for distanceMatrix[0][2] but received 0.5'],
    ['all zeros', { distanceMatrix: [[0, 0, 0], [0, 0, 0], [0, 0, 0]] }, RangeError, 'Expected a matrix with some distance > 0 for distanceMatrix but received all zeros'],
    ['weighting unknown', { weighting: 'GDL' }, RangeError, "Expected one of 'default', 'gdl' for weighting but received 'GDL'"],
    ['weighting a number', { weighting: 1 }, TypeError, "Expected one of 'default', 'gdl' for weighting but received 1"],
    ['a preset', { preset: 'monai' }, RangeError, "Expected no preset (generalized-wasserstein-dice has none) for preset but received 'monai'"],
  ])('%s', (_name, options, type, message) => {
    expect(call(options)).toThrow(type);
    expect(call(options)).toThrow(message);
  });
  it('a compound term names its option', () => {
    expect(() => computeLoss([{ loss: 'dice' }, { loss, options: { distanceMatrix: [[0, 1, 1], [1, 0, 1], [1, 1, 1]] } }], input)).toThrow(
      'Expected 0 (a class is at distance 0 from itself) for loss[1].options.distanceMatrix[2][2] but received 1',
    );
  });
});
