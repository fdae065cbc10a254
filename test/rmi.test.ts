// rmi beyond the parity fixtures (test/fixtures/rmi.zjulearning.json): float64 finite differences
// for every option (the gradient through the log-det, d log det A = tr(A⁻¹ dA), and the Cholesky),
// 3-D input per slice (planes large enough that the R²-covariances are well conditioned: with fewer
// neighbourhoods than R² the 5e-4-regularised inverse makes the value too curved for differences), singular covariances, all-ignored batches, ±1e4 logits, better predictions,
// gradient descent on the logits, the async call, and every bad option.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, type LossShape } from '../src/index';
import { allFinite, expectArrayClose, expectClose, finiteDifferences, labels, rng, uniform } from './helpers/numeric';

function makeInput(shape: LossShape, seed: number, ignore: number | null = null): { logits: Float64Array; target: Uint8Array } {
  const random = rng(seed);
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const logits = Float64Array.from(uniform(random, batch * channels * pixels, -2, 2));
  const target = Uint8Array.from(labels(random, batch * pixels, channels));
  if (ignore !== null) for (let j = 3; j < target.length; j += 5) target[j] = ignore;
  return { logits, target };
}

describe('finite differences (float64)', () => {
  it.each([
    ['defaults', [2, 3, 16, 18] as LossShape, {}],
    ['max pool 3/3', [1, 3, 24, 27] as LossShape, { poolMode: 'max', poolSize: 3, poolStride: 3 }],
    ['no pooling, radius 2, λ 0.2', [2, 2, 5, 6] as LossShape, { poolSize: 1, poolStride: 1, radius: 2, lambda: 0.2 }],
    ['ignoreIndex, λ 0 (RMI only)', [1, 3, 16, 14] as LossShape, { ignoreIndex: 255, lambda: 0 }],
    ['gradScale −1.7, radius 1', [1, 4, 6, 6] as LossShape, { gradScale: -1.7, radius: 1 }],
    ['volume [1, 2, 2, 14, 16] (per slice)', [1, 2, 2, 14, 16] as LossShape, {}],
  ] as const)('%s', (_name, shape, options) => {
    const { logits, target } = makeInput(shape, 70, 'ignoreIndex' in options ? 255 : null);
    const value = (x: Float64Array): number => computeLoss('rmi', { logits: x, target, shape }, options as never).value;
    const r = computeLoss('rmi', { logits, target, shape }, { ...options, grad: true } as never);
    const scale = 'gradScale' in options ? options.gradScale : 1;
    const numeric = finiteDifferences(value, logits, 1e-6).map((g) => g * scale);
    expect(numeric.some((g) => g !== 0)).toBe(true);
    expectArrayClose(r.grad, numeric, 1e-6, 1, 'rmi grad');
  });
});

describe('shapes and edge cases', () => {
  it('a volume runs per slice: [B, C, D, H, W] equals its D slices as images [B·D, C, H, W]', () => {
    const [B, C, D, H, W] = [2, 3, 2, 6, 7];
    const shape = [B, C, D, H, W] as const;
    const { logits, target } = makeInput(shape, 71, 255);
    const volume = computeLoss('rmi', { logits, target, shape }, { ignoreIndex: 255, grad: true });
    const planes = new Float64Array(logits.length);
    const index = (b: number, c: number, d: number, i: number) => ((b * C + c) * D + d) * H * W + i;
    const sliceIndex = (b: number, c: number, d: number, i: number) => (((b * D + d) * C + c) * H * W) + i;
    for (let b = 0; b < B; ++b) for (let c = 0; c < C; ++c) for (let d = 0; d < D; ++d) for (let i = 0; i < H * W; ++i) planes[sliceIndex(b, c, d, i)] = logits[index(b, c, d, i)];
    const slices = computeLoss('rmi', { logits: planes, target, shape: [B * D, C, H, W] }, { ignoreIndex: 255, grad: true });
    expectClose(volume.value, slices.value, 1e-13, 0);
    for (let b = 0; b < B; ++b) for (let c = 0; c < C; ++c) for (let d = 0; d < D; ++d) for (let i = 0; i < H * W; ++i) {
      expect(volume.grad[index(b, c, d, i)]).toBeCloseTo(slices.grad[sliceIndex(b, c, d, i)], 15);
    }
  });
  it('singular covariances (constant logits and labels, an absent class) never throw nor give NaN', () => {
    const shape = [2, 3, 8, 8] as const;
    for (const float64 of [true, false]) {
      const logits = float64 ? new Float64Array(384).fill(0.3) : new Float32Array(384).fill(0.3);
      const r = computeLoss('rmi', { logits, target: new Uint8Array(128).fill(1), shape }, { grad: true });
      expect(Number.isFinite(r.value)).toBe(true);
      expect(allFinite(r.grad)).toBe(true);
    }
  });
  it('all pixels ignored: value 0 and a zero gradient (the reference returns a constant)', () => {
    const shape = [2, 3, 6, 6] as const;
    const { logits } = makeInput(shape, 72);
    const r = computeLoss('rmi', { logits, target: new Uint8Array(72).fill(255), shape }, { ignoreIndex: 255, grad: true });
    expect(r.value).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });
  it('logits of ±1e4 give a finite value and gradient', () => {
    const shape = [2, 3, 6, 6] as const;
    const random = rng(73);
    for (const float64 of [true, false]) {
      const values = uniform(random, 216, 0, 1).map((u) => (u < 0.5 ? -1e4 : 1e4));
      const logits = float64 ? Float64Array.from(values) : Float32Array.from(values);
      const r = computeLoss('rmi', { logits, target: Uint8Array.from(labels(random, 72, 3)), shape }, { grad: true });
      expect(Number.isFinite(r.value)).toBe(true);
      expect(allFinite(r.grad)).toBe(true);
    }
  });
  it('a better prediction has a lower loss; float32 agrees with float64', () => {
    const shape = [2, 3, 8, 8] as const;
    const target = Uint8Array.from(labels(rng(74), 128, 3));
    const toward = (t: number) => {
      const z = new Float64Array(384).fill(-2);
      target.forEach((k, j) => (z[(Math.floor(j / 64) * 3 + k) * 64 + (j % 64)] = -2 + 6 * t));
      return z;
    };
    const values = [0, 0.25, 0.5, 0.75, 1].map((t) => computeLoss('rmi', { logits: toward(t), target, shape }).value);
    for (let k = 1; k < values.length; ++k) expect(values[k]).toBeLessThan(values[k - 1]);
    const z = toward(0.4).map((v, i) => v + Math.sin(i));
    const r64 = computeLoss('rmi', { logits: z, target, shape }, { grad: true });
    const r32 = computeLoss('rmi', { logits: Float32Array.from(z), target, shape }, { grad: true });
    expectClose(r32.value, r64.value, 1e-6, 1e-7);
    expectArrayClose(r32.grad, r64.grad, 1e-5);
  });
  it('gradient descent on the logits fits the target (hard accuracy 1)', () => {
    const shape = [2, 3, 8, 8] as const;
    const { logits, target } = makeInput(shape, 75);
    const z = Float64Array.from(logits);
    for (let step = 0; step < 300; ++step) {
      const { grad } = computeLoss('rmi', { logits: z, target, shape }, { grad: true });
      const scale = grad.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
      for (let k = 0; k < z.length; ++k) z[k] -= (0.5 * grad[k]) / scale;
    }
    let right = 0;
    target.forEach((t, j) => {
      const [b, i] = [Math.floor(j / 64), j % 64];
      let best = 0;
      for (let c = 1; c < 3; ++c) if (z[(b * 3 + c) * 64 + i] > z[(b * 3 + best) * 64 + i]) best = c;
      right += best === t ? 1 : 0;
    });
    expect(right).toBe(target.length);
  });
  it('computeLossAsync gives the very result of computeLoss', async () => {
    const shape = [2, 4, 9, 11] as const;
    const { logits, target } = makeInput(shape, 76, 255);
    const input = { logits: Float32Array.from(logits), target, shape };
    const options = { ignoreIndex: 255, poolMode: 'max', poolSize: 3, poolStride: 3, grad: true } as const;
    const sync = computeLoss('rmi', input, options);
    const async = await computeLossAsync('rmi', input, options);
    expect(async.value).toBe(sync.value);
    expect(Array.from(async.grad)).toEqual(Array.from(sync.grad));
  });
});

describe('bad options and shapes', () => {
  const shape = [1, 3, 6, 6] as const;
  const input = { logits: new Float32Array(108), target: new Uint8Array(36), shape };
  it.each([
    ['radius 11', { radius: 11 }, RangeError, 'Expected an integer in [1, 10] for radius but received 11'],
    ['radius 2.5', { radius: 2.5 }, RangeError, 'Expected an integer in [1, 10] for radius but received 2.5'],
    ['radius a string', { radius: '3' }, TypeError, "Expected an integer for radius but received '3'"],
    ['poolMode', { poolMode: 'sum' }, RangeError, "Expected one of 'avg', 'max' for poolMode but received 'sum'"],
    ['poolSize 0', { poolSize: 0 }, RangeError, 'Expected an integer in [1, 1024] for poolSize but received 0'],
    ['poolStride −1', { poolStride: -1 }, RangeError, 'Expected an integer in [1, 1024] for poolStride but received -1'],
    ['lambda 1.5', { lambda: 1.5 }, RangeError, 'Expected a number in [0, 1] for lambda but received 1.5'],
    ['softmax', { activation: 'softmax' }, RangeError, "Expected 'sigmoid' (the activation rmi takes) for activation but received 'softmax'"],
    ['a plane smaller than the radius', { radius: 5 }, RangeError, 'Expected a radius ≤ the pooled plane (4×4 from 6×6 with poolSize 2, poolStride 2) for radius but received 5'],
  ])('%s', (_name, options, type, message) => {
    const call = () => computeLoss('rmi', input, options as never);
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
  it('C = 1', () => {
    expect(() => computeLoss('rmi', { logits: new Float32Array(36), target: new Uint8Array(36), shape: [1, 1, 6, 6] })).toThrow(
      'Expected C ≥ 2 channels (rmi: one sigmoid channel per class) for shape but received C = 1',
    );
  });
  it('a compound with softmax terms needs one activation', () => {
    expect(() => computeLoss([{ loss: 'dice' }, { loss: 'rmi' }], input)).toThrow("for activation but received 'softmax'");
    expect(Number.isFinite(computeLoss([{ loss: 'dice' }, { loss: 'rmi', weight: 0.5 }], input, { activation: 'sigmoid' }).value)).toBe(true);
  });
});
