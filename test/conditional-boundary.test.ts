// conditional-boundary (spec 20): parity with dywu98/CBL-Conditional-Boundary-Loss context_loss +
// er_loss (test/fixtures/standalone/conditional-boundary.cbl.json, float32: 1e-4), float64 finite
// differences, ignoreIndex, the async and torch paths and the argument errors.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, computeLossTorch, type LogitsArray, torchAvailable } from '../src/index';
import { thrownBy } from './helpers/errors';
import { expectArrayClose, expectClose, finiteDifferences, rng, uniform } from './helpers/numeric';

interface CblCase {
  name: string;
  shape: [number, number, number, number];
  featureChannels: number;
  ignoreIndex: number;
  boundaryWidthRatio: number;
  weights: [number, number, number];
  target: number[];
  terms: { context: number; neighbourClass: number; centre: number };
  value: number;
  featuresGradChannels: number[];
  featuresGrad: number[][];
  featuresGradProjection: number;
  featuresGradSumSquares: number;
  classifierWeightGrad: number[];
  classifierBiasGrad: number[];
}

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'standalone', 'conditional-boundary.cbl.json'), 'utf8')) as { cases: CblCase[] };

/** The fixture's inputs, from the formulas its provenance states (float64, rounded to float32). */
function fixtureInput(c: CblCase) {
  const [B, C, H, W] = c.shape, D = c.featureChannels, lab = c.target;
  const logits = new Float32Array(B * C * H * W), features = new Float32Array(B * D * H * W);
  for (let b = 0; b < B; ++b)
    for (let k = 0; k < C; ++k)
      for (let y = 0; y < H; ++y)
        for (let x = 0; x < W; ++x) logits[((b * C + k) * H + y) * W + x] = Math.sin(1.7 * k + 0.9 * y + 0.4 * x + b) + (lab[(b * H + y) * W + x] === k ? 1 : 0);
  for (let b = 0; b < B; ++b)
    for (let d = 0; d < D; ++d)
      for (let y = 0; y < H; ++y)
        for (let x = 0; x < W; ++x) {
          const l = lab[(b * H + y) * W + x];
          const L = l === c.ignoreIndex ? 3 : l;
          features[((b * D + d) * H + y) * W + x] = Math.sin(0.37 * d + 1.3 * y - 0.7 * x + 0.5 * b) + 0.5 * Math.cos(0.23 * d * (L + 1) + 0.1 * x);
        }
  const classifierWeight = new Float32Array(C * D);
  for (let k = 0; k < C; ++k) for (let d = 0; d < D; ++d) classifierWeight[k * D + d] = 0.05 * Math.sin(0.3 * k * d + 0.01 * d + k);
  return {
    input: { logits, target: Uint8Array.from(lab), shape: c.shape, features, featureShape: [B, D, H, W] as [number, number, number, number], classifierWeight, classifierBias: Float32Array.from([0.1, -0.2, 0.05]) },
    options: { ignoreIndex: c.ignoreIndex, boundaryWidthRatio: c.boundaryWidthRatio, contextWeight: c.weights[0], neighbourClassWeight: c.weights[1], centreWeight: c.weights[2] },
  };
}

function expectFixtureGrads(c: CblCase, result: { featuresGrad?: LogitsArray; classifierWeightGrad?: LogitsArray; classifierBiasGrad?: LogitsArray }): void {
  const [B, , H, W] = c.shape, D = c.featureChannels, n = H * W;
  const fg = result.featuresGrad as LogitsArray;
  c.featuresGradChannels.forEach((d, j) => {
    const channel = new Float64Array(B * n);
    for (let b = 0; b < B; ++b) for (let i = 0; i < n; ++i) channel[b * n + i] = fg[(b * D + d) * n + i];
    expectArrayClose(channel, c.featuresGrad[j], 1e-4, 1e-2, `featuresGrad channel ${d}`);
  });
  let projection = 0, squares = 0;
  for (let i = 0; i < fg.length; ++i) {
    projection += fg[i] * Math.cos(0.013 * i);
    squares += fg[i] * fg[i];
  }
  expectClose(projection, c.featuresGradProjection, 1e-4, 1e-4 * Math.sqrt(c.featuresGradSumSquares), 'featuresGrad projection');
  expectClose(squares, c.featuresGradSumSquares, 1e-4, 0, 'featuresGrad Σ²');
  expectArrayClose(result.classifierWeightGrad as LogitsArray, c.classifierWeightGrad, 1e-4, 1e-2, 'classifierWeightGrad');
  expectArrayClose(result.classifierBiasGrad as LogitsArray, c.classifierBiasGrad, 1e-4, 1e-1, 'classifierBiasGrad');
}

describe('conditional-boundary: parity with dywu98 CBL (context_loss, er_loss)', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { input, options } = fixtureInput(c);
    const result = computeLoss('conditional-boundary', input, { ...options, grad: true });
    expectClose(result.value, c.value, 1e-4, 0, 'value');
    const term = (w: [number, number, number]) =>
      computeLoss('conditional-boundary', input, { ...options, contextWeight: w[0], neighbourClassWeight: w[1], centreWeight: w[2] }).value;
    expectClose(term([1, 0, 0]), c.terms.context, 1e-4, 0, 'loss_context');
    expectClose(term([0, 1, 0]), c.terms.neighbourClass, 1e-4, 0, 'loss_NCE');
    expectClose(term([0, 0, 1]), c.terms.centre, 1e-4, 0, 'loss_CN');
    expect(result.grad.every((g) => g === 0)).toBe(true);
    expectFixtureGrads(c, result);
  });

  it('boundaryWidthRatio is honoured (the reference ignores it): ratios 0.02 and 0.1 differ', () => {
    const { input, options } = fixtureInput(fixture.cases[0]);
    const a = computeLoss('conditional-boundary', input, options).value;
    const b = computeLoss('conditional-boundary', input, { ...options, boundaryWidthRatio: 0.1 }).value;
    expect(Math.abs(a - b)).toBeGreaterThan(1e-3);
  });

  it('computeLossAsync and computeLossTorch give the same numbers', async () => {
    const c = fixture.cases[1];
    const { input, options } = fixtureInput(c);
    const sync = computeLoss('conditional-boundary', input, { ...options, grad: true, gradScale: 0.5 });
    const async = await computeLossAsync('conditional-boundary', input, { ...options, grad: true, gradScale: 0.5 });
    expect(async.value).toBe(sync.value);
    expect(Array.from(async.featuresGrad as LogitsArray)).toEqual(Array.from(sync.featuresGrad as LogitsArray));
    expect(Array.from(async.classifierWeightGrad as LogitsArray)).toEqual(Array.from(sync.classifierWeightGrad as LogitsArray));
    expect(Array.from(async.classifierBiasGrad as LogitsArray)).toEqual(Array.from(sync.classifierBiasGrad as LogitsArray));
    if (!torchAvailable()) return;
    const torch = computeLossTorch('conditional-boundary', input, { ...options, grad: true, gradScale: 0.5 });
    expectClose(torch.value, sync.value, 1e-6, 0, 'torch value');
    expectArrayClose(torch.featuresGrad as LogitsArray, sync.featuresGrad as LogitsArray, 1e-6, 1e-3, 'torch featuresGrad');
    expectArrayClose(torch.classifierWeightGrad as LogitsArray, sync.classifierWeightGrad as LogitsArray, 1e-6, 1e-3, 'torch weight grad');
    expectArrayClose(torch.classifierBiasGrad as LogitsArray, sync.classifierBiasGrad as LogitsArray, 1e-6, 1e-3, 'torch bias grad');
    expect(torch.grad.every((g) => g === 0)).toBe(true);
  });
});

/** A small float64 case: B = 2, C = 3, D = 4, 9 × 11, blocks of classes, some ignored pixels. */
function smallCase(seed: number) {
  const B = 2, C = 3, D = 4, H = 9, W = 11, n = H * W;
  const random = rng(seed);
  const target = new Int32Array(B * n);
  for (let b = 0; b < B; ++b)
    for (let y = 0; y < H; ++y)
      for (let x = 0; x < W; ++x) target[b * n + y * W + x] = x < 4 ? 0 : y < 5 - b ? 1 : 2 - b;
  for (let j = 0; j < B * n; j += 13) target[j] = 9;
  const logits = Float64Array.from(uniform(random, B * C * n, -1, 1));
  for (let b = 0; b < B; ++b) for (let i = 0; i < n; ++i) if (target[b * n + i] < C && random() < 0.8) logits[(b * C + target[b * n + i]) * n + i] += 2;
  const features = Float64Array.from(uniform(random, B * D * n, -1, 1));
  const classifierWeight = Float64Array.from(uniform(random, C * D, -1, 1));
  const classifierBias = Float64Array.from(uniform(random, C, -0.5, 0.5));
  return { logits, target, shape: [B, C, H, W] as [number, number, number, number], features, featureShape: [B, D, H, W] as [number, number, number, number], classifierWeight, classifierBias };
}

describe('conditional-boundary: float64 finite differences', () => {
  // loss_CN pulls each anchor to its neighbours' mean held constant (the reference detaches it),
  // so finite differences of the value check the other two terms; loss_CN's gradient is checked
  // against the reference's autograd above.
  const options = { ignoreIndex: 9, boundaryWidthRatio: 0.02, contextWeight: 1, neighbourClassWeight: 0.7, centreWeight: 0 };
  const input = smallCase(3);
  const at = (patch: Record<string, Float64Array>) => computeLoss('conditional-boundary', { ...input, ...patch }, options).value;
  const result = computeLoss('conditional-boundary', input, { ...options, grad: true, gradScale: 1.5 });
  it('d value / d features', () => {
    const numeric = finiteDifferences((x) => at({ features: x }), input.features, 1e-6).map((g) => 1.5 * g);
    expect(numeric.some((g) => g !== 0)).toBe(true);
    expectArrayClose(result.featuresGrad as Float64Array, numeric, 1e-6, 1, 'featuresGrad');
  });
  it('d value / d classifierWeight and classifierBias', () => {
    const w = finiteDifferences((x) => at({ classifierWeight: x }), input.classifierWeight, 1e-6).map((g) => 1.5 * g);
    expectArrayClose(result.classifierWeightGrad as Float64Array, w, 1e-6, 1, 'classifierWeightGrad');
    const b = finiteDifferences((x) => at({ classifierBias: x }), input.classifierBias, 1e-6).map((g) => 1.5 * g);
    expect(b.some((g) => g !== 0)).toBe(true);
    expectArrayClose(result.classifierBiasGrad as Float64Array, b, 1e-6, 1, 'classifierBiasGrad');
  });
  it('loss_CN: ∂/∂f_p = 2 (f_p − ā_p) / (|M| · D) with ā constant, so CN = |M| · D · Σ‖∂‖² / 4 (one class counted)', () => {
    // C = 2; class 0 is predicted wrong everywhere, so only class 1 is counted (n_classes = 1)
    const B = 1, C = 2, D = 3, H = 8, W = 10, n = H * W;
    const random = rng(17);
    const target = Int32Array.from({ length: n }, (_, i) => ((i % W) >= 4 ? 1 : 0));
    const logits = new Float64Array(B * C * n);
    for (let i = 0; i < n; ++i) logits[n + i] = 1; // class 1 predicted at every pixel
    const features = Float64Array.from(uniform(random, B * D * n, -1, 1));
    const input = { logits, target, shape: [B, C, H, W] as [number, number, number, number], features, featureShape: [B, D, H, W] as [number, number, number, number], classifierWeight: new Float64Array(C * D) };
    const one = { contextWeight: 0, neighbourClassWeight: 0, centreWeight: 1 };
    const value = computeLoss('conditional-boundary', input, one).value;
    const grad = computeLoss('conditional-boundary', input, { ...one, grad: true }).featuresGrad as Float64Array;
    let squares = 0, anchors = 0;
    for (let i = 0; i < n; ++i) {
      let s = 0;
      for (let d = 0; d < D; ++d) s += grad[d * n + i] ** 2;
      squares += s;
      anchors += s > 0 ? 1 : 0;
      if (target[i] === 0) expect(s, `class-0 pixel ${i}`).toBe(0);
    }
    expect(anchors).toBeGreaterThan(0);
    expectClose(value, (anchors * D * squares) / 4, 1e-12, 0, 'CN from its gradient');
  });
});

describe('conditional-boundary: ignoreIndex and edge cases', () => {
  it('ignored pixels take no part: their features do not change the value and get no gradient', () => {
    const input = smallCase(5);
    const options = { ignoreIndex: 9 };
    const base = computeLoss('conditional-boundary', input, { ...options, grad: true });
    const [B, D] = [2, 4], n = 99;
    const moved = Float64Array.from(input.features);
    for (let b = 0; b < B; ++b)
      for (let i = 0; i < n; ++i)
        if (input.target[b * n + i] === 9) for (let d = 0; d < D; ++d) moved[(b * D + d) * n + i] += 3;
    expect(computeLoss('conditional-boundary', { ...input, features: moved }, options).value).toBe(base.value);
    for (let b = 0; b < B; ++b)
      for (let i = 0; i < n; ++i)
        if (input.target[b * n + i] === 9) for (let d = 0; d < D; ++d) expect((base.featuresGrad as Float64Array)[(b * D + d) * n + i]).toBe(0);
  });
  it('all ignored: 0 with zero gradients; one class everywhere: finite', () => {
    const input = smallCase(6);
    const ignored = computeLoss('conditional-boundary', { ...input, target: new Int32Array(input.target.length).fill(9) }, { ignoreIndex: 9, grad: true });
    expect(ignored.value).toBe(0);
    expect((ignored.featuresGrad as Float64Array).every((g) => g === 0)).toBe(true);
    expect((ignored.classifierWeightGrad as Float64Array).every((g) => g === 0)).toBe(true);
    const single = computeLoss('conditional-boundary', { ...input, target: new Int32Array(input.target.length).fill(1) }, { grad: true });
    expect(Number.isFinite(single.value)).toBe(true);
    expect((single.featuresGrad as Float64Array).every(Number.isFinite)).toBe(true);
  });
  it('zero features (cosine at its eps clamp) give no NaN', () => {
    const input = smallCase(7);
    const result = computeLoss('conditional-boundary', { ...input, features: new Float64Array(input.features.length) }, { ignoreIndex: 9, grad: true });
    expect(Number.isFinite(result.value)).toBe(true);
    expect((result.featuresGrad as Float64Array).every(Number.isFinite)).toBe(true);
  });
});

describe('conditional-boundary: bad input', () => {
  const input = smallCase(8);
  const f32 = new Float32Array(input.features.length);
  it.each([
    { name: 'features missing', patch: { features: undefined }, error: 'TypeError', mentions: 'features' },
    { name: 'features of another type', patch: { features: f32 }, error: 'TypeError', mentions: 'features' },
    { name: 'featureShape missing', patch: { featureShape: undefined }, error: 'TypeError', mentions: 'featureShape' },
    { name: 'featureShape of another size', patch: { featureShape: [2, 4, 9, 10] }, error: 'RangeError', mentions: 'featureShape' },
    { name: 'features too short', patch: { features: new Float64Array(10) }, error: 'RangeError', mentions: 'features' },
    { name: 'classifierWeight of the wrong size', patch: { classifierWeight: new Float64Array(11) }, error: 'RangeError', mentions: 'classifierWeight' },
    { name: 'classifierBias of the wrong size', patch: { classifierBias: new Float64Array(2) }, error: 'RangeError', mentions: 'classifierBias' },
    { name: 'non-finite feature', patch: { features: Float64Array.from(input.features, (v, i) => (i === 5 ? NaN : v)) }, error: 'RangeError', mentions: 'features' },
  ])('$name', ({ patch, error, mentions }) => {
    const e = thrownBy(() => computeLoss('conditional-boundary', { ...input, ...patch } as never));
    expect(e?.name).toBe(error);
    expect(e?.code).toBe('SEGLOSS_INVALID_ARGUMENT');
    expect(e?.message).toContain(mentions);
  });
  it('options and shapes', () => {
    expect(thrownBy(() => computeLoss('conditional-boundary', input, { boundaryWidthRatio: 2 }))?.message).toContain('boundaryWidthRatio');
    expect(thrownBy(() => computeLoss('conditional-boundary', input, { centreWeight: -1 }))?.message).toContain('centreWeight');
    const e = thrownBy(() => computeLoss([{ loss: 'conditional-boundary' }], input));
    expect(e?.message).toContain('loss[0].loss');
    const bad = Int32Array.from(input.target);
    bad[3] = 3;
    expect(thrownBy(() => computeLoss('conditional-boundary', { ...input, target: bad }))?.message).toContain('[0, 3)');
    const vol = thrownBy(() => computeLoss('conditional-boundary', { ...input, shape: [2, 3, 1, 9, 11] } as never));
    expect(vol?.name).toBe('RangeError');
  });
});
