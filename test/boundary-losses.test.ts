// The boundary-level losses on distance maps (boundary, region-wise, distance-map-ce, hausdorff-dt,
// boundary-dou): float64 finite differences with the maps held constant (the maps depend on the
// target only, or — Hausdorff-DT — on the thresholded prediction, which a step of 1e-6 does not
// change), the edge cases of the foundation (all ignored, one class filling the image, absent
// classes), async = sync, compound objectives, the torch op, and bad options. Reference values are
// in the parity fixtures (test/parity.test.ts).
import { describe, expect, it } from 'vitest';

import { binaryMorphology, computeLoss, computeLossAsync, computeLossTorch, distanceMap, torchAvailable, type LossShape } from '../src/index';
import { thrownBy } from './helpers/errors';
import { expectArrayClose, finiteDifferences, labels, rng, softmaxChannels, uniform } from './helpers/numeric';

const LOSSES = ['boundary', 'region-wise', 'distance-map-ce', 'hausdorff-dt', 'boundary-dou'] as const;
type BoundaryLossName = (typeof LOSSES)[number];


interface GradCase {
  name: string;
  loss: BoundaryLossName;
  shape: LossShape;
  options: Record<string, unknown>;
  probabilities?: boolean;
  ignore?: number;
  absent?: number;
  seed?: number;
}

function makeInput(c: { shape: LossShape; probabilities?: boolean; ignore?: number; absent?: number; seed?: number }): {
  logits: Float64Array;
  target: Int32Array;
} {
  const random = rng(c.seed ?? 11);
  const [batch, channels, ...spatial] = c.shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const classes = channels === 1 ? 2 : channels;
  let logits: Float64Array = Float64Array.from(uniform(random, batch * channels * pixels, -2, 2));
  if (c.probabilities) {
    logits = channels === 1 ? logits.map((z) => 0.1 + 0.8 / (1 + Math.exp(-z))) : softmaxChannels(logits, batch, channels, pixels);
  }
  const target = Int32Array.from(labels(random, batch * pixels, classes));
  if (c.absent !== undefined) target.forEach((t, j) => (target[j] = t === c.absent ? 0 : t));
  if (c.ignore !== undefined) for (let j = 0; j < target.length; j += 5) target[j] = c.ignore;
  return { logits, target };
}

const gradCases: GradCase[] = [
  { name: 'default (foreground classes)', loss: 'boundary', shape: [2, 3, 5, 7], options: {} },
  { name: 'classes [0, 2], ignoreIndex, absent class 1', loss: 'boundary', shape: [2, 3, 6, 4], options: { classes: [0, 2], ignoreIndex: 7 }, ignore: 7, absent: 1 },
  { name: 'C = 1 sigmoid', loss: 'boundary', shape: [2, 1, 5, 6], options: {} },
  { name: "'none' with probabilities", loss: 'boundary', shape: [2, 3, 4, 5], options: { activation: 'none' }, probabilities: true },
  { name: 'sigmoid per channel, gradScale 0.5', loss: 'boundary', shape: [2, 3, 4, 5], options: { activation: 'sigmoid', gradScale: 0.5 } },
  { name: '3-D volumes', loss: 'boundary', shape: [2, 3, 3, 4, 5], options: {} },
  { name: 'default (every class)', loss: 'region-wise', shape: [2, 3, 5, 7], options: {} },
  { name: 'ignoreIndex, absent class 2', loss: 'region-wise', shape: [2, 3, 6, 4], options: { ignoreIndex: 7 }, ignore: 7, absent: 2 },
  { name: 'C = 1 sigmoid', loss: 'region-wise', shape: [2, 1, 5, 6], options: {} },
  { name: 'caller map', loss: 'region-wise', shape: [2, 3, 4, 5], options: { map: Float64Array.from(uniform(rng(9), 2 * 3 * 20, -1, 1)) } },
  { name: '3-D volumes, sigmoid', loss: 'region-wise', shape: [2, 3, 3, 4, 5], options: { activation: 'sigmoid' } },
  { name: 'default (spec Φ), C = 2', loss: 'distance-map-ce', shape: [2, 2, 6, 7], options: {} },
  { name: 'C = 3, ignoreIndex', loss: 'distance-map-ce', shape: [2, 3, 6, 5], options: { ignoreIndex: 7 }, ignore: 7 },
  { name: 'preset odyssey', loss: 'distance-map-ce', shape: [2, 3, 6, 5], options: { preset: 'odyssey' } },
  { name: 'C = 1 sigmoid', loss: 'distance-map-ce', shape: [2, 1, 5, 6], options: {} },
  { name: "'none' with probabilities", loss: 'distance-map-ce', shape: [2, 3, 4, 5], options: { activation: 'none' }, probabilities: true },
  { name: '3-D volumes', loss: 'distance-map-ce', shape: [2, 3, 3, 4, 5], options: {} },
  { name: 'default (α 2, no background)', loss: 'hausdorff-dt', shape: [2, 3, 6, 7], options: {} },
  { name: 'α 1.5, includeBackground, ignoreIndex', loss: 'hausdorff-dt', shape: [2, 3, 6, 5], options: { alpha: 1.5, includeBackground: true, ignoreIndex: 7 }, ignore: 7 },
  { name: 'C = 1 sigmoid', loss: 'hausdorff-dt', shape: [2, 1, 5, 6], options: {} },
  { name: 'sigmoid per channel', loss: 'hausdorff-dt', shape: [2, 3, 4, 5], options: { activation: 'sigmoid' } },
  { name: "'none' with probabilities", loss: 'hausdorff-dt', shape: [2, 3, 4, 5], options: { activation: 'none' }, probabilities: true },
  { name: '3-D volumes', loss: 'hausdorff-dt', shape: [2, 3, 3, 4, 5], options: {} },
  { name: 'default', loss: 'boundary-dou', shape: [2, 3, 6, 7], options: {} },
  { name: 'ignoreIndex, absent class 2', loss: 'boundary-dou', shape: [2, 3, 6, 5], options: { ignoreIndex: 7 }, ignore: 7, absent: 2 },
  { name: 'C = 1 sigmoid', loss: 'boundary-dou', shape: [2, 1, 5, 6], options: {} },
  { name: 'sigmoid per channel, gradScale 3', loss: 'boundary-dou', shape: [2, 3, 4, 5], options: { activation: 'sigmoid', gradScale: 3 } },
  { name: '3-D volumes', loss: 'boundary-dou', shape: [2, 3, 3, 4, 5], options: {} },
];

describe('float64 finite differences (maps held constant)', () => {
  it.each(gradCases.map((c) => [`${c.loss}: ${c.name}`, c] as const))('%s', (_name, c) => {
    const { logits, target } = makeInput(c);
    const value = (x: Float64Array): number => computeLoss(c.loss, { logits: x, target, shape: c.shape }, c.options).value;
    const result = computeLoss(c.loss, { logits, target, shape: c.shape }, { ...c.options, grad: true });
    expect(result.value).toBeCloseTo(value(logits), 14);
    const scale = (c.options.gradScale as number | undefined) ?? 1;
    const numeric = finiteDifferences(value, logits, 1e-6).map((g) => g * scale);
    expect(numeric.some((g) => g !== 0)).toBe(true);
    expectArrayClose(result.grad, numeric, 1e-6, 1, `${c.name} grad`);
  });
});

describe('edge cases never divide by zero', () => {
  const shape: LossShape = [2, 3, 4, 5];
  const { logits } = makeInput({ shape });
  const n = 2 * 4 * 5;
  it.each(LOSSES)('%s: all pixels ignored → value 0, zero gradient', (loss) => {
    const target = new Int32Array(n).fill(9);
    const r = computeLoss(loss, { logits, target, shape }, { ignoreIndex: 9, grad: true });
    expect(r.value).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });
  it.each(LOSSES)('%s: one class fills every image (empty and full masks) → finite', (loss) => {
    for (const label of [0, 1, 2]) {
      const target = new Int32Array(n).fill(label);
      const r = computeLoss(loss, { logits, target, shape }, { grad: true });
      expect(Number.isFinite(r.value)).toBe(true);
      expect(r.grad.every((g) => Number.isFinite(g))).toBe(true);
    }
  });
  it('boundary: empty and full masks have a zero map, so the value is 0', () => {
    const target = new Int32Array(n).fill(1);
    expect(computeLoss('boundary', { logits, target, shape }).value).toBe(0);
  });
  it('region-wise: a class filling the image has z = −1, absent classes +1', () => {
    const target = new Int32Array(n).fill(1);
    const probs = softmaxChannels(logits, 2, 3, 20);
    let expected = 0;
    for (let b = 0; b < 2; ++b) {
      for (let c = 0; c < 3; ++c) for (let i = 0; i < 20; ++i) expected += probs[(b * 3 + c) * 20 + i] * (c === 1 ? -1 : 1);
    }
    expect(computeLoss('region-wise', { logits, target, shape }).value).toBeCloseTo(expected / (3 * 40), 14);
  });
  it('logits of ±1e4 give finite values and gradients', () => {
    const big = logits.map((z) => (z > 0 ? 1e4 : -1e4));
    const { target } = makeInput({ shape });
    for (const loss of LOSSES) {
      const r = computeLoss(loss, { logits: big, target, shape }, { grad: true });
      expect(Number.isFinite(r.value)).toBe(true);
      expect(r.grad.every((g) => Number.isFinite(g))).toBe(true);
    }
  });
});

describe('distance-map-ce: the spec formula', () => {
  // Σ (1 + Φ)(−log p_t) / N_valid, Φ from the mask of the labels in [1, C) that are not ignored.
  function expectedValue(logits: Float64Array, target: ArrayLike<number>, ignore: number): number {
    const n = 42;
    const probs = softmaxChannels(logits, 2, 3, n);
    let sum = 0;
    let valid = 0;
    for (let b = 0; b < 2; ++b) {
      const fg = Uint8Array.from(Array.from(target).slice(b * n, (b + 1) * n), (t) => (t >= 1 && t < 3 && t !== ignore ? 1 : 0));
      const phi = distanceMap('distance-map-ce', fg, [6, 7]);
      for (let i = 0; i < n; ++i) {
        const t = target[b * n + i];
        if (t === ignore) continue;
        sum += (1 + phi[i]) * -Math.log(probs[(b * 3 + t) * n + i]);
        valid += 1;
      }
    }
    return sum / valid;
  }
  const shape: LossShape = [2, 3, 6, 7];

  it('is Σ (1 + Φ)(−log p_t) / N_valid with Φ = distanceMap(\'distance-map-ce\') of the foreground mask', () => {
    const { logits, target } = makeInput({ shape, seed: 21, ignore: 9 });
    expect(computeLoss('distance-map-ce', { logits, target, shape }, { ignoreIndex: 9 }).value).toBeCloseTo(expectedValue(logits, target, 9), 13);
  });
  it('leaves an ignored foreground class out of the mask, for 8-, 16- and 32-bit labels', () => {
    const { logits, target } = makeInput({ shape, seed: 22 });
    expect(Array.from(target)).toContain(1);
    const expected = expectedValue(logits, target, 1);
    for (const labels of [Uint8Array.from(target), Uint16Array.from(target), Int32Array.from(target)]) {
      expect(computeLoss('distance-map-ce', { logits, target: labels, shape }, { ignoreIndex: 1 }).value).toBeCloseTo(expected, 13);
    }
  });
});

describe('hausdorff-dt: the formula, with the prediction map recomputed every call', () => {
  it('is mean (p − g)²·(d_g² + d_p²) with d = distanceMap(\'hausdorff-dt\') of the target and of p > 0.5', () => {
    const shape: LossShape = [2, 3, 6, 7];
    const n = 42;
    const { logits, target } = makeInput({ shape, seed: 31 });
    const expected = (z: Float64Array): number => {
      const probs = softmaxChannels(z, 2, 3, n);
      let sum = 0;
      for (let b = 0; b < 2; ++b) {
        for (let c = 1; c < 3; ++c) {
          const g = Uint8Array.from(target.subarray(b * n, (b + 1) * n), (t) => (t === c ? 1 : 0));
          const pc = probs.subarray((b * 3 + c) * n, (b * 3 + c + 1) * n);
          const dg = distanceMap('hausdorff-dt', g, [6, 7]);
          const dp = distanceMap('hausdorff-dt', Uint8Array.from(pc, (p) => (p > 0.5 ? 1 : 0)), [6, 7]);
          for (let i = 0; i < n; ++i) sum += (pc[i] - g[i]) ** 2 * (dg[i] ** 2 + dp[i] ** 2);
        }
      }
      return sum / (2 * 2 * n);
    };
    expect(computeLoss('hausdorff-dt', { logits, target, shape }).value).toBeCloseTo(expected(logits), 12);
    const moved = logits.map((z, i) => (i % 3 === 0 ? z + 1.5 : z)); // another prediction: another d_p
    expect(computeLoss('hausdorff-dt', { logits: moved, target, shape }).value).toBeCloseTo(expected(moved), 12);
  });
});

describe('the per-image class maps: one transform per class (the classes do not overlap) equals two per mask', () => {
  it('boundary on 4 classes with ignored pixels and an absent class is Σ p·distanceMap(\'boundary\') of each class mask', () => {
    const shape: LossShape = [2, 4, 9, 11];
    const n = 99;
    const { logits, target } = makeInput({ shape, ignore: 7, absent: 2, seed: 41 });
    const probs = softmaxChannels(logits, 2, 4, n);
    let sum = 0;
    let valid = 0;
    for (let b = 0; b < 2; ++b) {
      const t = target.subarray(b * n, (b + 1) * n);
      valid += t.filter((v) => v !== 7).length;
      for (let c = 1; c < 4; ++c) {
        const map = distanceMap('boundary', Uint8Array.from(t, (v) => (v === c ? 1 : 0)), [9, 11]);
        for (let i = 0; i < n; ++i) if (t[i] !== 7) sum += probs[(b * 4 + c) * n + i] * map[i];
      }
    }
    expect(computeLoss('boundary', { logits, target, shape }, { ignoreIndex: 7 }).value).toBeCloseTo(sum / (3 * valid), 12);
  });
  it("hausdorff-dt with 'none' probabilities whose thresholded masks overlap (two classes > 0.5) is still the formula", () => {
    const shape: LossShape = [1, 3, 6, 7];
    const n = 42;
    const { target } = makeInput({ shape, seed: 43 });
    const probs = Float64Array.from({ length: 3 * n }, (_, k) => ((k * 37) % 11) / 10); // in [0, 1], often > 0.5 twice
    let overlaps = 0;
    for (let i = 0; i < n; ++i) if ([0, 1, 2].filter((c) => probs[c * n + i] > 0.5).length > 1) overlaps++;
    expect(overlaps).toBeGreaterThan(0);
    let sum = 0;
    for (let c = 1; c < 3; ++c) {
      const g = Uint8Array.from(target, (t) => (t === c ? 1 : 0));
      const pc = probs.subarray(c * n, (c + 1) * n);
      const dg = distanceMap('hausdorff-dt', g, [6, 7]);
      const dp = distanceMap('hausdorff-dt', Uint8Array.from(pc, (p) => (p > 0.5 ? 1 : 0)), [6, 7]);
      for (let i = 0; i < n; ++i) sum += (pc[i] - g[i]) ** 2 * (dg[i] ** 2 + dp[i] ** 2);
    }
    expect(computeLoss('hausdorff-dt', { logits: probs, target, shape }, { activation: 'none' }).value).toBeCloseTo(sum / (2 * n), 12);
  });
});

describe('boundary-dou: the formula in float64', () => {
  it.each([
    ['2-D', [2, 3, 6, 7] as LossShape],
    ['3-D (6-connected boundary)', [2, 3, 3, 4, 5] as LossShape],
  ])('%s: α from binaryMorphology(\'inner-boundary\') counts, ratio of the pooled sums', (_name, shape) => {
    const [batch, channels, ...spatial] = shape;
    const n = spatial.reduce((a, b) => a * b, 1);
    const { logits, target } = makeInput({ shape, seed: 41, ignore: 9 });
    const probs = softmaxChannels(logits, batch, channels, n);
    let value = 0;
    for (let c = 0; c < channels; ++c) {
      let Z = 0;
      let Y = 0;
      let I = 0;
      let boundary = 0;
      for (let b = 0; b < batch; ++b) {
        const g = Uint8Array.from(target.subarray(b * n, (b + 1) * n), (t) => (t === c ? 1 : 0));
        boundary += binaryMorphology('inner-boundary', g, spatial).reduce((a, x) => a + x, 0);
        for (let i = 0; i < n; ++i) {
          if (target[b * n + i] === 9) continue;
          const p = probs[(b * channels + c) * n + i];
          Z += p * p;
          Y += g[i];
          I += p * g[i];
        }
      }
      const alpha = Math.min(2 * (1 - (boundary + 1e-5) / (Y + 1e-5)) - 1, 0.8);
      value += (Z + Y - 2 * I + 1e-5) / (Z + Y - (1 + alpha) * I + 1e-5) / channels;
    }
    expect(computeLoss('boundary-dou', { logits, target, shape }, { ignoreIndex: 9 }).value).toBeCloseTo(value, 13);
  });
});

describe('active-boundary (ABL)', () => {
  // Its gradient follows ABL: the neighbours' distributions are detached (isdetach=True), so it is
  // not the derivative of the value (a logit also moves its neighbours' KL logits); it is checked
  // against ABL's autograd in the parity fixtures instead of by finite differences.
  const shape: LossShape = [2, 3, 20, 24];
  const n = 20 * 24;
  const target = Int32Array.from({ length: 2 * n }, (_, j) => ((j % 24) > 11 ? 1 : 0) + (Math.floor((j % n) / 24) > 9 ? 1 : 0));
  const logits = Float64Array.from({ length: 2 * 3 * n }, (_, k) => {
    const b = Math.floor(k / (3 * n));
    const c = Math.floor(k / n) % 3;
    return (target[b * n + (k % n)] === c ? 2 : 0) + Math.sin(k * 1.7);
  });
  it('uniform logits predict no boundary: value 0 and a zero gradient (ABL returns None)', () => {
    const r = computeLoss('active-boundary', { logits: new Float64Array(2 * 3 * n), target, shape }, { grad: true });
    expect(r.value).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });
  // Near the target boundary D = ⌊edt − 1⌋ is 0, so a budget that only reaches the boundary's
  // neighbours weighs everything by 0; budgets of 20 % and more reach pixels with D > 0.
  const budget = { maxBoundaryRatio: 0.3 };
  it('a budget that reaches only the boundary\'s neighbours gives 0 (weights min(D, clip)/clip with D = 0)', () => {
    expect(computeLoss('active-boundary', { logits, target, shape }).value).toBe(0);
  });
  it('the gradient sits on the predicted boundary only, and the value is positive', () => {
    const r = computeLoss('active-boundary', { logits, target, shape }, { grad: true, ...budget });
    expect(r.value).toBeGreaterThan(0);
    const touched = r.grad.filter((g) => g !== 0).length;
    expect(touched).toBeGreaterThan(0);
    expect(touched).toBeLessThan(r.grad.length / 4);
  });
  it('all pixels ignored: every pixel is on the target boundary (D = 0), so the value is 0', () => {
    const r = computeLoss('active-boundary', { logits, target: new Int32Array(2 * n).fill(9), shape }, { ignoreIndex: 9, grad: true });
    expect(r.value).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });
  it('a larger budget predicts more boundary pixels', () => {
    const touched = (ratio: number): number =>
      computeLoss('active-boundary', { logits, target, shape }, { grad: true, maxBoundaryRatio: ratio }).grad.filter((g) => g !== 0).length;
    expect(touched(0.5)).toBeGreaterThan(touched(0.2));
  });
  it('in a compound objective with cross-entropy, the parts add up', () => {
    const both = computeLoss([{ loss: 'active-boundary', weight: 0.3, options: budget }, { loss: 'cross-entropy' }], { logits, target, shape }, { grad: true });
    const a = computeLoss('active-boundary', { logits, target, shape }, { grad: true, ...budget });
    expect(a.value).toBeGreaterThan(0);
    const b = computeLoss('cross-entropy', { logits, target, shape }, { grad: true });
    expect(both.value).toBeCloseTo(0.3 * a.value + b.value, 13);
    expectArrayClose(both.grad, a.grad.map((g, i) => 0.3 * g + b.grad[i]), 1e-12);
  });
  it('computeLossAsync equals computeLoss; gradScale scales the gradient', async () => {
    const sync = computeLoss('active-boundary', { logits, target, shape }, { grad: true, ...budget });
    const async = await computeLossAsync('active-boundary', { logits, target, shape }, { grad: true, gradScale: 2, ...budget });
    expect(async.value).toBe(sync.value);
    expectArrayClose(async.grad, sync.grad.map((g) => 2 * g), 1e-15);
  });
  it.runIf(torchAvailable())('the torch op equals computeLoss', () => {
    const cpu = computeLoss('active-boundary', { logits, target, shape }, { grad: true, ...budget });
    const torch = computeLossTorch('active-boundary', { logits, target, shape }, { grad: true, ...budget });
    expect(cpu.value).toBeGreaterThan(0);
    expect(torch.value).toBeCloseTo(cpu.value, 13);
    expectArrayClose(torch.grad, cpu.grad, 1e-13);
  });
  it('a volume [B, C, D, H, W] is B·D slices: it equals the 2-D call on [B·D, C, H, W]', () => {
    const [B, C, D, H, W] = [2, 3, 2, 10, 12];
    const hw = H * W;
    const labelsV = Int32Array.from({ length: B * D * hw }, (_, j) => ((j % W) > 5 ? 1 : 0) + (Math.floor(j / W) % H > 4 ? 1 : 0));
    const volume = Float64Array.from({ length: B * C * D * hw }, (_, k) => {
      const b = Math.floor(k / (C * D * hw));
      const c = Math.floor(k / (D * hw)) % C;
      return (labelsV[b * D * hw + (k % (D * hw))] === c ? 2 : 0) + Math.sin(k * 1.7);
    });
    const slices = new Float64Array(volume.length);
    for (let b = 0; b < B; ++b) {
      for (let c = 0; c < C; ++c) {
        for (let d = 0; d < D; ++d) slices.set(volume.subarray(((b * C + c) * D + d) * hw, ((b * C + c) * D + d + 1) * hw), (((b * D + d) * C + c) * hw));
      }
    }
    const options = { grad: true, maxBoundaryRatio: 0.8 } as const;
    const v = computeLoss('active-boundary', { logits: volume, target: labelsV, shape: [B, C, D, H, W] }, options);
    const s2 = computeLoss('active-boundary', { logits: slices, target: labelsV, shape: [B * D, C, H, W] }, options);
    expect(v.value).toBeGreaterThan(0);
    expect(v.value).toBeCloseTo(s2.value, 14);
    for (let b = 0; b < B; ++b) {
      for (let c = 0; c < C; ++c) {
        for (let d = 0; d < D; ++d) {
          expectArrayClose(v.grad.subarray(((b * C + c) * D + d) * hw, ((b * C + c) * D + d + 1) * hw), s2.grad.subarray(((b * D + d) * C + c) * hw, ((b * D + d) * C + c + 1) * hw), 1e-14);
        }
      }
    }
  });
  it('C = 1 (sigmoid) reads the two-class distribution [1 − σ, σ]: equals softmax over logits [−z/2, z/2]', () => {
    const z = Float64Array.from({ length: 2 * n }, (_, k) => 2 * (target[k] > 0 ? 1 : -1) + Math.sin(k * 1.3));
    const pair = new Float64Array(2 * 2 * n);
    for (let b = 0; b < 2; ++b) {
      for (let i = 0; i < n; ++i) {
        pair[(b * 2) * n + i] = -z[b * n + i] / 2;
        pair[(b * 2 + 1) * n + i] = z[b * n + i] / 2;
      }
    }
    const binary = Int32Array.from(target, (t) => (t > 0 ? 1 : 0));
    const one = computeLoss('active-boundary', { logits: z, target: binary, shape: [2, 1, 20, 24] }, { grad: true, ...budget });
    const two = computeLoss('active-boundary', { logits: pair, target: binary, shape: [2, 2, 20, 24] }, { grad: true, ...budget });
    expect(one.value).toBeGreaterThan(0);
    expect(one.value).toBeCloseTo(two.value, 12);
    // d/dz of softmax([−z/2, z/2]) terms: ½(g₁ − g₀)
    expectArrayClose(one.grad, Float64Array.from(one.grad, (_, k) => {
      const b = Math.floor(k / n);
      const i = k % n;
      return 0.5 * (two.grad[(b * 2 + 1) * n + i] - two.grad[b * 2 * n + i]);
    }), 1e-9);
  });
});

describe('calls', () => {
  const shape: LossShape = [2, 3, 6, 5];
  const { logits, target } = makeInput({ shape, seed: 5 });
  const input = { logits, target, shape };
  it.each(LOSSES)('%s: computeLossAsync equals computeLoss', async (loss) => {
    const sync = computeLoss(loss, input, { grad: true });
    const async = await computeLossAsync(loss, input, { grad: true });
    expect(async.value).toBe(sync.value);
    expect(async.grad).toEqual(sync.grad);
  });
  it.each(LOSSES)('%s: in a compound objective, 0.5·loss + 0.5·dice is the sum of the parts', (loss) => {
    const both = computeLoss([{ loss, weight: 0.5 }, { loss: 'dice', weight: 0.5 }], input, { grad: true });
    const a = computeLoss(loss, input, { grad: true });
    const b = computeLoss('dice', input, { grad: true });
    expect(both.value).toBeCloseTo(0.5 * a.value + 0.5 * b.value, 14);
    expectArrayClose(both.grad, a.grad.map((g, i) => 0.5 * g + 0.5 * b.grad[i]), 1e-12);
  });
  it.runIf(torchAvailable()).each(LOSSES)('%s: the torch op equals computeLoss (float64 and float32)', (loss) => {
    const cpu = computeLoss(loss, input, { grad: true, ignoreIndex: 2 });
    const torch = computeLossTorch(loss, input, { grad: true, ignoreIndex: 2 });
    expect(torch.value).toBeCloseTo(cpu.value, 12);
    expectArrayClose(torch.grad, cpu.grad, 1e-12);
    const input32 = { logits: Float32Array.from(logits), target, shape };
    const cpu32 = computeLoss(loss, input32, { grad: true });
    const torch32 = computeLossTorch(loss, input32, { grad: true });
    expect(torch32.value).toBeCloseTo(cpu32.value, 5);
    expectArrayClose(torch32.grad, cpu32.grad, 1e-5);
  });
});

describe('bad options', () => {
  const shape: LossShape = [1, 3, 2, 2];
  const input = { logits: new Float32Array(12), target: new Uint8Array(4), shape };
  const table: [string, () => unknown, string, string][] = [
    ['classes out of range', () => computeLoss('boundary', input, { classes: [1, 3] }), 'RangeError', 'Expected a class id in [0, K = 3) for classes[1] but received 3'],
    ['classes negative', () => computeLoss('boundary', input, { classes: [-1] }), 'RangeError', 'Expected a class id in [0, K = 3) for classes[0] but received -1'],
    ['classes not integers', () => computeLoss('boundary', input, { classes: [1.5] }), 'TypeError', 'Expected an integer class id for classes[0] but received 1.5'],
    ['classes repeated', () => computeLoss('boundary', input, { classes: [1, 1] }), 'RangeError', 'Expected a class id not listed before for classes[1] but received 1'],
    ['classes empty', () => computeLoss('boundary', input, { classes: [] }), 'RangeError', 'Expected at least one class id for classes but received an empty array'],
    ['map of the wrong length', () => computeLoss('region-wise', input, { map: new Float64Array(11) }), 'RangeError', 'Expected an array of length B·K·N = 12 for map but received length 11'],
    ['map not a typed array', () => computeLoss('region-wise', input, { map: [1, 2] } as never), 'TypeError', 'Expected a Float64Array or Float32Array [B, K, ...spatial] for map but received [1, 2]'],
    ['map holding NaN', () => computeLoss('region-wise', input, { map: new Float64Array(12).fill(Number.NaN, 3) }), 'RangeError', 'Expected a finite number for map[3] but received NaN'],
    ['alpha 0', () => computeLoss('hausdorff-dt', input, { alpha: 0 }), 'RangeError', 'Expected a finite number > 0 for alpha but received 0'],
    ['alpha a string', () => computeLoss('hausdorff-dt', input, { alpha: '2' } as never), 'TypeError', "Expected a number for alpha but received '2'"],
    ['includeBackground a number', () => computeLoss('hausdorff-dt', input, { includeBackground: 1 } as never), 'TypeError', 'Expected a boolean for includeBackground but received 1'],
    ['distance-map-ce unknown preset', () => computeLoss('distance-map-ce', input, { preset: 'monai' } as never), 'RangeError', "Expected one of 'odyssey' (presets of distance-map-ce) for preset but received 'monai'"],
    ['maxBoundaryRatio 0', () => computeLoss('active-boundary', input, { maxBoundaryRatio: 0 }), 'RangeError', 'Expected a number in (0, 1] for maxBoundaryRatio but received 0'],
    ['labelSmoothing 1.5', () => computeLoss('active-boundary', input, { labelSmoothing: 1.5 }), 'RangeError', 'Expected a number in [0, 1] for labelSmoothing but received 1.5'],
    ['maxClipDistance negative', () => computeLoss('active-boundary', input, { maxClipDistance: -1 }), 'RangeError', 'Expected a finite number > 0 for maxClipDistance but received -1'],
    ['classes not an array', () => computeLoss('boundary', input, { classes: 1 } as never), 'TypeError', 'Expected an array of class ids (integers in [0, K)) for classes but received 1'],
  ];
  it.each(table)('%s', (_name, call, kind, message) => {
    const error = thrownBy(call);
    expect([error?.name, error?.message, error?.code]).toEqual([kind, message, 'SEGLOSS_INVALID_ARGUMENT']);
  });
});
