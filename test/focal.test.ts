// focal beyond the parity fixtures: γ = 0 is cross-entropy (value and gradient, with α = class
// weights' numerators), a better prediction gives a lower loss, the loss focuses (well-classified
// pixels weigh less than under CE), and gradient descent on the logits reaches hard Dice ≥ 0.99.
// Preset smp: the per-channel sum equals C one-channel (binary) calls, its option checks, async.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync } from '../src';
import { hardDice, rng } from './helpers/numeric';

const shape = [2, 3, 6, 7] as const;
function input(seed: number): { logits: Float64Array; target: Uint8Array } {
  const random = rng(seed);
  const logits = Float64Array.from({ length: 2 * 3 * 6 * 7 }, () => 4 * random() - 2);
  const target = Uint8Array.from({ length: 2 * 6 * 7 }, () => Math.floor(3 * random()));
  return { logits, target };
}


describe('focal', () => {
  it('γ = 0 is cross-entropy, value and gradient', () => {
    const { logits, target } = input(1);
    const focal = computeLoss('focal', { logits, target, shape }, { gamma: 0, grad: true, ignoreIndex: 2 });
    const ce = computeLoss('cross-entropy', { logits, target, shape }, { grad: true, ignoreIndex: 2 });
    expect(focal.value).toBeCloseTo(ce.value, 14);
    focal.grad.forEach((g, i) => expect(g).toBeCloseTo(ce.grad[i], 14));
  });

  it('weighs well-classified pixels less than cross-entropy does (γ > 0 lowers the loss)', () => {
    const { logits, target } = input(2);
    const values = [0, 0.5, 1, 2, 5].map((gamma) => computeLoss('focal', { logits, target, shape }, { gamma }).value);
    for (let k = 1; k < values.length; ++k) expect(values[k]).toBeLessThan(values[k - 1]);
    expect(values.at(-1)).toBeGreaterThan(0);
  });

  it('a better prediction gives a lower loss', () => {
    const { logits, target } = input(3);
    const better = Float64Array.from(logits);
    const [B, C, H, W] = shape;
    const n = H * W;
    for (let b = 0; b < B; ++b) for (let i = 0; i < n; ++i) better[(b * C + target[b * n + i]) * n + i] += 1;
    const smp = [{ preset: 'smp' as const }, { preset: 'smp' as const, alpha: 0.25, gamma: 0.5 }];
    for (const options of [{}, { gamma: 0.5 }, { preset: 'monai' as const }, { alpha: [0.2, 1, 3] }, ...smp]) {
      const before = computeLoss('focal', { logits, target, shape }, options).value;
      const after = computeLoss('focal', { logits: better, target, shape }, options).value;
      expect(after).toBeLessThan(before);
    }
  });

  it.each([{}, { preset: 'smp' as const, alpha: 0.25 }])('gradient descent on the logits reaches hard Dice ≥ 0.99 (%o)', (options) => {
    const { logits, target } = input(4);
    for (let step = 0; step < 300; ++step) {
      const { grad } = computeLoss('focal', { logits, target, shape }, { ...options, grad: true });
      for (let i = 0; i < logits.length; ++i) logits[i] -= 200 * grad[i];
    }
    expect(hardDice(logits, target, shape[0], shape[1], shape[2] * shape[3])).toBeGreaterThanOrEqual(0.99);
  });
});

describe("focal preset 'smp'", () => {
  // Every fifth pixel ignored (255).
  function ignoredInput(seed: number): { logits: Float64Array; target: Uint8Array } {
    const { logits, target } = input(seed);
    return { logits, target: target.map((t, i) => (i % 5 === 0 ? 255 : t)) };
  }

  it.each([
    { gamma: 2 },
    { gamma: 0.5, alpha: 0.25 },
    { gamma: 0, alpha: 0.8 },
  ])('is the mean over the C channels of one-channel calls on (z_c, [t = c]) (%o)', (own) => {
    const { logits, target } = ignoredInput(5);
    const [B, C, H, W] = shape;
    const n = H * W;
    const options = { preset: 'smp' as const, ignoreIndex: 255, grad: true as const, ...own };
    const all = computeLoss('focal', { logits, target, shape }, options);
    let mean = 0;
    for (let c = 0; c < C; ++c) {
      const z = new Float64Array(B * n);
      for (let b = 0; b < B; ++b) z.set(logits.subarray((b * C + c) * n, (b * C + c + 1) * n), b * n);
      const t = target.map((l) => (l === 255 ? 255 : l === c ? 1 : 0));
      const one = computeLoss('focal', { logits: z, target: t, shape: [B, 1, H, W] }, options);
      mean += one.value / C;
      for (let b = 0; b < B; ++b) {
        for (let i = 0; i < n; ++i) expect(all.grad[(b * C + c) * n + i]).toBeCloseTo(one.grad[b * n + i] / C, 14);
      }
    }
    expect(all.value).toBeCloseTo(mean, 13);
  });

  it('α scales the target channel by α and the others by 1 − α (α = 0.5 halves the value without α)', () => {
    const { logits, target } = ignoredInput(6);
    const plain = computeLoss('focal', { logits, target, shape }, { preset: 'smp', ignoreIndex: 255 });
    const half = computeLoss('focal', { logits, target, shape }, { preset: 'smp', ignoreIndex: 255, alpha: 0.5 });
    expect(half.value).toBeCloseTo(plain.value / 2, 14);
    const positive = computeLoss('focal', { logits, target, shape }, { preset: 'smp', ignoreIndex: 255, alpha: 1 });
    const negative = computeLoss('focal', { logits, target, shape }, { preset: 'smp', ignoreIndex: 255, alpha: 0 });
    expect(positive.value + negative.value).toBeCloseTo(plain.value, 14);
  });

  it('defaults to the sigmoid, and computeLossAsync returns the same numbers', async () => {
    const { logits, target } = ignoredInput(7);
    const options = { preset: 'smp' as const, alpha: 0.25, ignoreIndex: 255, grad: true as const };
    const sync = computeLoss('focal', { logits, target, shape }, options);
    const explicit = computeLoss('focal', { logits, target, shape }, { ...options, activation: 'sigmoid' });
    const async = await computeLossAsync('focal', { logits, target, shape }, options);
    expect(explicit.value).toBe(sync.value);
    expect(async.value).toBe(sync.value);
    expect(Array.from(async.grad)).toEqual(Array.from(sync.grad));
    expect(Array.from(explicit.grad)).toEqual(Array.from(sync.grad));
  });

  it('rejects options that do not fit the preset, naming them', () => {
    const { logits, target } = input(8);
    const call = (options: Record<string, unknown>, loss: unknown = 'focal') => () =>
      computeLoss(loss as 'focal', { logits, target, shape }, options as never);
    expect(call({ preset: 'smp', alpha: [0.25, 0.25, 0.25] })).toThrow(TypeError);
    expect(call({ preset: 'smp', alpha: [0.25, 0.25, 0.25] })).toThrow(/smp's scalar α, a number in \[0, 1\].* for alpha but received \[0\.25, 0\.25, 0\.25\]/);
    expect(call({ preset: 'smp', alpha: 1.5 })).toThrow(RangeError);
    expect(call({ preset: 'smp', alpha: 1.5 })).toThrow(/a number in \[0, 1\] for alpha but received 1\.5/);
    expect(call({ preset: 'smp', alpha: Number.NaN })).toThrow(RangeError);
    expect(call({ preset: 'smp', gamma: -1 })).toThrow(/for gamma but received -1/);
    expect(call({ alpha: 0.25 })).toThrow(TypeError);
    expect(call({ alpha: 0.25 })).toThrow(/a single number α is for preset 'smp'.* for alpha/);
    expect(call({ preset: 'smp', activation: 'softmax' })).toThrow(RangeError);
    expect(call({ preset: 'smp', activation: 'softmax' })).toThrow(/'sigmoid' \(the activation focal's preset 'smp' takes\) for activation but received 'softmax'/);
    // In a compound loss the activation is the call's (default softmax): the preset needs it set.
    const compound = [{ loss: 'focal', options: { preset: 'smp', alpha: 2 } }];
    expect(call({ activation: 'sigmoid' }, compound)).toThrow(/for loss\[0\]\.options\.alpha but received 2/);
    expect(call({}, [{ loss: 'focal', options: { preset: 'smp' } }])).toThrow(/'sigmoid' .* for activation but received 'softmax'/);
    expect(call({ activation: 'sigmoid' }, [{ loss: 'focal', options: { preset: 'smp' } }])).not.toThrow();
  });

  it('all pixels ignored: value 0 and a zero gradient (smp itself returns NaN there)', () => {
    const { logits } = input(9);
    const target = new Uint8Array(2 * 6 * 7).fill(255);
    const r = computeLoss('focal', { logits, target, shape }, { preset: 'smp', ignoreIndex: 255, grad: true });
    expect(r.value).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });

  it('γ 0.5 with saturated logits: finite where smp 50066163 returns a NaN gradient, and float32 = float64', () => {
    // smp: FocalLoss('multiclass', gamma=0.5) on z = [[-30, 0.3], [30, -0.2]] (channels × pixels), t = [1, 0]
    // gives the gradient [nan, -0.0954, nan, 0.1031] (its (1 − pt).pow(γ) at pt = 1 in float32).
    const small = { target: new Uint8Array([1, 0]), shape: [1, 2, 1, 2] as [number, number, number, number] };
    const options = { preset: 'smp' as const, gamma: 0.5, grad: true as const };
    const r32 = computeLoss('focal', { ...small, logits: new Float32Array([-30, 0.3, 30, -0.2]) }, options);
    const r64 = computeLoss('focal', { ...small, logits: new Float64Array([-30, 0.3, 30, -0.2]) }, options);
    expect(r32.grad.every(Number.isFinite)).toBe(true);
    r64.grad.forEach((g, i) => expect(r32.grad[i]).toBeCloseTo(g, 6));
    expect(r64.grad[1]).toBeCloseTo(-0.09536997973918915, 6);
    expect(r64.grad[3]).toBeCloseTo(0.10309132933616638, 6);
  });

  it('saturated logits (±1e4, float32): finite, and a confidently wrong channel keeps its gradient (1 − α) / (C · N)', () => {
    const [B, C, H, W] = shape;
    const n = H * W;
    const target = new Uint8Array(B * n);
    const logits = new Float32Array(B * C * n).fill(-1e4);
    for (let b = 0; b < B; ++b) for (let i = 0; i < n; ++i) logits[(b * C + 1) * n + i] = 1e4;  // channel 1 says yes everywhere
    const r = computeLoss('focal', { logits, target, shape }, { preset: 'smp', alpha: 0.25, grad: true });
    // channel 1 is wrong at every pixel (target 0): BCE 1e4, focal factor 1, weight 0.75; channel 0 is wrong too (z −1e4, t 1).
    expect(r.value).toBeCloseTo(((0.75 * 1e4 + 0.25 * 1e4) * B * n) / (C * B * n), 0);
    for (let b = 0; b < B; ++b) {
      for (let i = 0; i < n; ++i) {
        expect(r.grad[(b * C + 1) * n + i]).toBeCloseTo(0.75 / (C * B * n), 9);
        expect(r.grad[(b * C + 0) * n + i]).toBeCloseTo(-0.25 / (C * B * n), 9);
        expect(r.grad[(b * C + 2) * n + i]).toBe(0);
      }
    }
  });
});
