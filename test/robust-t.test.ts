// robust-t beyond the parity fixtures (test/fixtures/robust-t.digital-dermatology.json, which hold
// no ignored pixels): ignored pixels, volumes and D per image against the formula of
// test/helpers/reference.ts, the learned θ's gradient (async, compounds), properties, gradient
// descent on the logits with θ fixed, and the option checks.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, type LossShape } from '../src/index';
import { allFinite, expectClose, labels, rng, uniform } from './helpers/numeric';
import { referenceRobustT } from './helpers/reference';

function makeInput(shape: LossShape, seed: number, ignore: number | null): { logits: Float64Array; target: Uint8Array } {
  const random = rng(seed);
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const logits = Float64Array.from(uniform(random, batch * channels * pixels, -3, 3));
  const target = Uint8Array.from(labels(random, batch * pixels, channels));
  if (ignore !== null) for (let j = 1; j < target.length; j += 4) target[j] = ignore;
  return { logits, target };
}

describe('equals its formula (float64): D is each image’s own valid pixel count', () => {
  it.each([
    ['non-square, ignored pixels, θ 0.7', [2, 3, 5, 7] as LossShape, 0.7, 255],
    ['volume [2, 3, 3, 4, 5], ignored voxels', [2, 3, 3, 4, 5] as LossShape, 1, 255],
    ['1×1 images, θ −2', [3, 2, 1, 1] as LossShape, -2, null],
    ['C = 5, θ 5', [2, 5, 4, 4] as LossShape, 5, null],
  ] as const)('%s', (_name, shape, theta, ignore) => {
    const { logits, target } = makeInput(shape, 60, ignore);
    const r = computeLoss('robust-t', { logits, target, shape }, { nuParameter: theta, ignoreIndex: ignore ?? undefined, grad: true });
    expectClose(r.value, referenceRobustT(logits, target, shape, theta, ignore), 1e-11, 1e-12);
    expect(allFinite(r.grad)).toBe(true);
    expect(Number.isFinite(r.gradNuParameter)).toBe(true);
  });

  it('an image whose pixels are all ignored contributes 0 (and counts in the mean)', () => {
    const shape = [2, 2, 3, 3] as const;
    const { logits, target } = makeInput(shape, 61, null);
    const half = Uint8Array.from(target).fill(255, 9);
    const both = computeLoss('robust-t', { logits, target: half, shape }, { ignoreIndex: 255, grad: true });
    const first = computeLoss('robust-t', { logits: logits.subarray(0, 18), target: target.subarray(0, 9), shape: [1, 2, 3, 3] }, { grad: true });
    expectClose(both.value, first.value / 2, 1e-14, 0);
    expectClose(both.gradNuParameter ?? Number.NaN, (first.gradNuParameter ?? Number.NaN) / 2, 1e-13, 0);
    for (let k = 18; k < 36; ++k) expect(both.grad[k]).toBe(0);
  });
});

describe('properties', () => {
  const shape = [2, 2, 6, 6] as const;
  const { logits, target } = makeInput(shape, 62, null);
  const input = { logits, target, shape };
  it('for fixed θ the value grows with the residuals; float32 agrees with float64', () => {
    const good = Float64Array.from(logits);
    target.forEach((t, j) => {
      const [b, i] = [Math.floor(j / 36), j % 36];
      good[(b * 2 + t) * 36 + i] += 2;
    });
    expect(computeLoss('robust-t', { ...input, logits: good }).value).toBeLessThan(computeLoss('robust-t', input).value);
    const r64 = computeLoss('robust-t', input, { grad: true });
    const r32 = computeLoss('robust-t', { ...input, logits: Float32Array.from(logits) }, { grad: true });
    expectClose(r32.value, r64.value, 1e-6, 1e-6);
    expectClose(r32.gradNuParameter ?? Number.NaN, r64.gradNuParameter ?? Number.NaN, 1e-5, 1e-5);
  });
  it('gradScale scales gradNuParameter; async gives the very result', async () => {
    const a = computeLoss('robust-t', input, { nuParameter: 0.4, grad: true });
    const b = computeLoss('robust-t', input, { nuParameter: 0.4, grad: true, gradScale: -2.5 });
    expectClose(b.gradNuParameter ?? Number.NaN, -2.5 * (a.gradNuParameter ?? Number.NaN), 1e-15, 0);
    const c = await computeLossAsync('robust-t', input, { nuParameter: 0.4, grad: true });
    expect(c.value).toBe(a.value);
    expect(c.gradNuParameter).toBe(a.gradNuParameter);
    expect(Array.from(c.grad)).toEqual(Array.from(a.grad));
  });
  it('θ has a minimiser: gradient descent on θ alone converges where dL/dθ = 0', () => {
    let theta = 1;
    for (let step = 0; step < 400; ++step) theta -= 0.5 * (computeLoss('robust-t', input, { nuParameter: theta, grad: true }).gradNuParameter ?? 0);
    expect(Math.abs(computeLoss('robust-t', input, { nuParameter: theta, grad: true }).gradNuParameter ?? 1)).toBeLessThan(1e-2);
    expect(computeLoss('robust-t', input, { nuParameter: theta }).value).toBeLessThan(computeLoss('robust-t', input, { nuParameter: 1 }).value);
  });
  it('gradient descent on the logits (θ fixed) fits the target: hard accuracy 1', () => {
    const z = Float64Array.from(logits);
    for (let step = 0; step < 300; ++step) {
      const { grad } = computeLoss('robust-t', { ...input, logits: z }, { grad: true });
      const scale = grad.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
      for (let k = 0; k < z.length; ++k) z[k] -= (0.5 * grad[k]) / scale;
    }
    let right = 0;
    target.forEach((t, j) => {
      const [b, i] = [Math.floor(j / 36), j % 36];
      right += (z[(b * 2 + 1) * 36 + i] > z[b * 2 * 36 + i] ? 1 : 0) === t ? 1 : 0;
    });
    expect(right).toBe(target.length);
  });
});

describe('option checks', () => {
  const input = { logits: new Float32Array(8), target: new Uint8Array(4), shape: [1, 2, 2, 2] as const };
  it.each([
    ['a string', { nuParameter: '1' }, TypeError, "Expected a number for nuParameter but received '1'"],
    ['NaN', { nuParameter: Number.NaN }, RangeError, 'Expected a finite number ≤ 700 (ν = e^θ stays finite) for nuParameter but received NaN'],
    ['too large', { nuParameter: 701 }, RangeError, 'Expected a finite number ≤ 700 (ν = e^θ stays finite) for nuParameter but received 701'],
    ['a preset', { preset: 'x' }, RangeError, "Expected no preset (robust-t has none) for preset but received 'x'"],
  ])('%s', (_name, options, type, message) => {
    const call = () => computeLoss('robust-t', input, options as never);
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
});
