// Edge shapes and values (STYLE habit 10): 1×1 images, absent classes, all pixels ignored,
// logits of ±1e4, one-class targets, for every loss of the table below; and invariants: a perfect prediction has Dice ≈ 0, a better
// prediction has a lower loss.
import { describe, expect, it } from 'vitest';

import { computeLoss, type DiceLossOptions, type LogitsArray, type LossShape, type LossSpec } from '../src/index';
import { allFinite, expectClose, labels, rng, uniform } from './helpers/numeric';
import { referenceCrossEntropy, referenceDice } from './helpers/reference';

const specs: [string, LossSpec, Record<string, unknown>][] = [
  ['cross-entropy', 'cross-entropy', {}],
  ['cross-entropy, weights + smoothing', 'cross-entropy', { classWeights: [1, 2, 3], labelSmoothing: 0.1 }],
  ['topk', 'topk', {}],
  ['topk k 30 nnunet', 'topk', { k: 30, preset: 'nnunet' }],
  ['lovasz-softmax', 'lovasz-softmax', {}],
  ['lovasz-softmax all classes perImage', 'lovasz-softmax', { classes: 'all', perImage: true }],
  ['lovasz-softmax classes [0, 2]', 'lovasz-softmax', { classes: [0, 2] }],
  ['focal', 'focal', {}],
  ['focal γ 0.5 α monai', 'focal', { gamma: 0.5, alpha: [0.25, 1, 1], preset: 'monai' }],
  ['focal smp α 0.25', 'focal', { preset: 'smp', alpha: 0.25 }],
  ['focal smp γ 0.5', 'focal', { preset: 'smp', gamma: 0.5 }],
  ['dice', 'dice', {}],
  ['dice perImage logLoss', 'dice', { perImage: true, logLoss: true }],
  ['dice squared', 'dice', { squared: true }],
  ['dice smp', 'dice', { preset: 'smp' }],
  ['dice nnunet', 'dice', { preset: 'nnunet' }],
  ['dice monai', 'dice', { preset: 'monai' }],
  ['compound', [{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }], {}],
  ['log-cosh-dice', 'log-cosh-dice', {}],
  ['log-cosh-dice perImage logLoss', 'log-cosh-dice', { perImage: true, logLoss: true }],
  ['generalized-wasserstein-dice', 'generalized-wasserstein-dice', {}],
  ['robust-t', 'robust-t', {}],
  ['robust-t θ −2', 'robust-t', { nuParameter: -2 }],
  ['compound with robust-t', [{ loss: 'robust-t', weight: 0.1 }, { loss: 'dice', weight: 0.9 }], {}],
  [
    'generalized-wasserstein-dice gdl, distance matrix',
    'generalized-wasserstein-dice',
    { weighting: 'gdl', distanceMatrix: [[0, 1, 0.5], [1, 0, 0.8], [0.5, 0.8, 0]] },
  ],
  [
    'compound with generalized-wasserstein-dice',
    [{ loss: 'generalized-wasserstein-dice', weight: 0.5 }, { loss: 'dice', weight: 0.3 }, { loss: 'cross-entropy', weight: 0.2 }],
    {},
  ],
  ['jaccard', 'jaccard', {}],
  ['jaccard monai squared', 'jaccard', { preset: 'monai', squared: true }],
  ['tversky', 'tversky', {}],
  ['tversky perImage α 1 β 0, smooth 0', 'tversky', { perImage: true, alpha: 1, beta: 0, smooth: 0 }],
  ['focal-tversky', 'focal-tversky', {}],
  ['focal-tversky γ 0.5 smooth 0', 'focal-tversky', { gamma: 0.5, smooth: 0 }],
  ['focal-tversky odyssey', 'focal-tversky', { preset: 'odyssey' }],
  ['sensitivity-specificity', 'sensitivity-specificity', {}],
  ['sensitivity-specificity smooth 0', 'sensitivity-specificity', { smooth: 0 }],
  ['sensitivity-specificity odyssey', 'sensitivity-specificity', { preset: 'odyssey' }],
  [
    'compound of region losses',
    [{ loss: 'jaccard', weight: 0.5 }, { loss: 'focal-tversky', weight: 0.3 }, { loss: 'sensitivity-specificity', weight: 0.2 }],
    {},
  ],
  ['combo', 'combo', {}],
  ['combo α 0.8 β 0.2 perImage no background', 'combo', { alpha: 0.8, beta: 0.2, perImage: true, includeBackground: false }],
  ['combo sigmoid', 'combo', { activation: 'sigmoid', beta: 0.7 }],
  ['exp-log', 'exp-log', {}],
  ['exp-log γ 1 perImage no background', 'exp-log', { gamma: 1, perImage: true, includeBackground: false }],
  ['exp-log odyssey', 'exp-log', { preset: 'odyssey' }],
  ['unified-focal', 'unified-focal', {}],
  ['unified-focal monai γ 0.2 λ 0.8', 'unified-focal', { preset: 'monai', gamma: 0.2, lambda: 0.8 }],
  ['compound lovasz + topk + cross-entropy', [{ loss: 'lovasz-softmax', weight: 0.5 }, { loss: 'topk', weight: 0.3 }, { loss: 'cross-entropy', weight: 0.2 }], {}],
  ['compound dice + topk', [{ loss: 'dice', weight: 0.5 }, { loss: 'topk', weight: 0.5, options: { k: 20 } }], {}],
];

function randomInput(seed: number, shape: LossShape, float64: boolean): { logits: LogitsArray; target: Uint8Array } {
  const random = rng(seed);
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const values = uniform(random, batch * channels * pixels, -3, 3);
  return {
    logits: float64 ? Float64Array.from(values) : Float32Array.from(values),
    target: Uint8Array.from(labels(random, batch * pixels, channels === 1 ? 2 : channels)),
  };
}

describe('1×1 images', () => {
  const shape = [3, 3, 1, 1] as const;
  const { logits, target } = randomInput(11, shape, true);
  it('cross-entropy equals the reference', () => {
    const r = computeLoss('cross-entropy', { logits, target, shape }, { grad: true });
    expectClose(r.value, referenceCrossEntropy(logits, target, shape), 1e-12, 0);
    expect(allFinite(r.grad)).toBe(true);
  });
  it.each([false, true])('dice (perImage %s) equals the reference', (perImage) => {
    const r = computeLoss('dice', { logits, target, shape }, { perImage, grad: true });
    expectClose(r.value, referenceDice(logits, target, shape, { perImage }), 1e-12, 0);
    expect(allFinite(r.grad)).toBe(true);
  });
  it('a single pixel, C = 1', () => {
    const r = computeLoss('dice', { logits: new Float32Array([0.3]), target: new Uint8Array([1]), shape: [1, 1, 1, 1] });
    const p = 1 / (1 + Math.exp(-0.3));
    // classes: background (p0 = 1 − p, g0 = 0) and foreground (p1 = p, g1 = 1)
    const expected = 1 - ((1e-5) / (1 - p + 1e-5) + (2 * p + 1e-5) / (p + 1 + 1e-5)) / 2;
    expectClose(r.value, expected, 1e-6, 0);
  });
});

describe('absent classes', () => {
  const shape = [2, 4, 3, 5] as const;
  const { logits, target } = randomInput(12, shape, true);
  const absent = target.map((t) => (t === 2 ? 0 : t));
  it('dice counts an absent class (≈ 1 − 0) by default and skips it with smp', () => {
    const plain = computeLoss('dice', { logits, target: absent, shape });
    expectClose(plain.value, referenceDice(logits, absent, shape), 1e-12, 0);
    const smp = computeLoss('dice', { logits, target: absent, shape }, { preset: 'smp' });
    expectClose(smp.value, referenceDice(logits, absent, shape, { smooth: 0, zeroAbsentClasses: true }), 1e-12, 0);
    expect(smp.value).toBeLessThan(plain.value);
  });
  it("cross-entropy ignores an absent class's weight", () => {
    const a = computeLoss('cross-entropy', { logits, target: absent, shape }, { classWeights: [1, 1, 1, 1] });
    const b = computeLoss('cross-entropy', { logits, target: absent, shape }, { classWeights: [1, 1, 1e6, 1] });
    expectClose(a.value, b.value, 1e-14, 0);
    expectClose(a.value, referenceCrossEntropy(logits, absent, shape), 1e-12, 0);
  });
});

describe('all pixels ignored: value 0 and a zero gradient', () => {
  for (const float64 of [false, true]) {
    for (const [name, loss, options] of specs) {
      it(`${name} (${float64 ? 'float64' : 'float32'})`, () => {
        const shape = [2, 3, 4, 4] as const;
        const { logits } = randomInput(13, shape, float64);
        const target = new Uint8Array(2 * 16).fill(255);
        const r = computeLoss(loss as never, { logits, target, shape }, { ...options, ignoreIndex: 255, grad: true });
        expect(r.value).toBe(0);
        expect(r.grad?.every((g) => g === 0)).toBe(true);
      });
    }
  }
  it('C = 1 sigmoid, dice and cross-entropy', () => {
    const logits = new Float32Array([1, -2, 3, 0.5]);
    const target = new Int32Array([-1, -1, -1, -1]);
    for (const loss of ['dice', 'cross-entropy'] as const) {
      const r = computeLoss(loss, { logits, target, shape: [1, 1, 2, 2] }, { ignoreIndex: -1, grad: true });
      expect(r.value).toBe(0);
      expect([...r.grad]).toEqual([0, 0, 0, 0]);
    }
  });
});

describe('logits of ±1e4 give a finite value and gradient', () => {
  for (const float64 of [false, true]) {
    for (const [name, loss, options] of specs) {
      it(`${name} (${float64 ? 'float64' : 'float32'})`, () => {
        const shape = [2, 3, 3, 3] as const;
        const random = rng(14);
        const values = uniform(random, 54, 0, 1).map((u) => (u < 0.5 ? -1e4 : 1e4));
        const logits = float64 ? Float64Array.from(values) : Float32Array.from(values);
        const target = Uint8Array.from(labels(random, 18, 3));
        const r = computeLoss(loss as never, { logits, target, shape }, { ...options, grad: true });
        expect(Number.isFinite(r.value)).toBe(true);
        expect(allFinite(r.grad as LogitsArray)).toBe(true);
      });
    }
  }
  it('sigmoid, C = 1 and C = 3', () => {
    for (const shape of [[1, 1, 2, 2], [1, 3, 2, 2]] as const) {
      const n = shape[1] * 4;
      const logits = Float32Array.from({ length: n }, (_, i) => (i % 2 ? 1e4 : -1e4));
      const target = Uint8Array.from([0, 1, 1, 0]);
      for (const loss of ['dice', 'cross-entropy'] as const) {
        const r = computeLoss(loss, { logits, target, shape }, { activation: 'sigmoid', grad: true });
        expect(Number.isFinite(r.value)).toBe(true);
        expect(allFinite(r.grad)).toBe(true);
      }
    }
  });
});

describe('one-class targets', () => {
  for (const [name, loss, options] of specs) {
    it(`${name}: every label 1`, () => {
      const shape = [2, 3, 4, 3] as const;
      const { logits } = randomInput(15, shape, false);
      const target = new Uint8Array(24).fill(1);
      const r = computeLoss(loss as never, { logits, target, shape }, { ...options, grad: true });
      expect(Number.isFinite(r.value)).toBe(true);
      expect(allFinite(r.grad as LogitsArray)).toBe(true);
    });
  }
});

/** Logits t·(5·onehot(target)) for a [B, C, N] shape: t = 0 uniform, t = 1 confident and right. */
function towardTarget(target: Uint8Array, shape: LossShape, t: number): Float64Array {
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const logits = new Float64Array(batch * channels * pixels);
  for (let b = 0; b < batch; ++b) {
    for (let i = 0; i < pixels; ++i) logits[(b * channels + target[b * pixels + i]) * pixels + i] = 5 * t;
  }
  return logits;
}

describe('invariants', () => {
  const shape = [2, 3, 5, 5] as const;
  const target = Uint8Array.from(labels(rng(16), 50, 3));

  it.each<[string, DiceLossOptions]>([
    ['batch', {}],
    ['perImage', { perImage: true }],
    ['squared, no background', { squared: true, includeBackground: false }],
    ['logLoss', { logLoss: true }],
    ['smp', { preset: 'smp' }],
  ])('a perfect prediction has dice ≈ 0 (%s)', (_name, options) => {
    const logits = towardTarget(target, shape, 8); // logit gap 40: p ≈ 1 − 1e-17
    expect(computeLoss('dice', { logits, target, shape }, options).value).toBeLessThan(1e-6);
  });

  it('a perfect prediction has nnU-Net dice ≈ −1 and cross-entropy ≈ 0', () => {
    const logits = towardTarget(target, shape, 8);
    expectClose(computeLoss('dice', { logits, target, shape }, { preset: 'nnunet' }).value, -1, 0, 1e-6);
    expect(computeLoss('cross-entropy', { logits, target, shape }).value).toBeLessThan(1e-15);
  });

  // Label smoothing makes over-confidence costly, so it is checked separately below.
  const unsmoothed = specs.filter(([, , options]) => options.labelSmoothing === undefined);

  it.each(unsmoothed)('a better prediction has a lower loss: %s', (_name, loss, options) => {
    const values = [0, 0.25, 0.5, 0.75, 1].map(
      (t) => computeLoss(loss as never, { logits: towardTarget(target, shape, t), target, shape }, options).value,
    );
    for (let k = 1; k < values.length; ++k) expect(values[k]).toBeLessThan(values[k - 1]);
  });

  it('with label smoothing ε, cross-entropy is smallest at the smoothed target', () => {
    const eps = 0.1;
    const optimum = Math.log((1 - eps + eps / 3) / (eps / 3)) / 5; // logit gap 5t = log(p_t / p_other)
    const value = (t: number): number =>
      computeLoss('cross-entropy', { logits: towardTarget(target, shape, t), target, shape }, { labelSmoothing: eps }).value;
    expect(value(optimum)).toBeLessThan(value(optimum - 0.05));
    expect(value(optimum)).toBeLessThan(value(optimum + 0.05));
    expect(value(0.25)).toBeLessThan(value(0));
  });

  it('fixing one wrong pixel lowers the loss', () => {
    const logits = towardTarget(target, shape, 0.5);
    const wrong = Float64Array.from(logits);
    const right = (target[0] + 1) % 3;
    wrong[target[0] * 25] = 0;
    wrong[right * 25] = 2.5;
    for (const [, loss, options] of specs) {
      const better = computeLoss(loss as never, { logits, target, shape }, options).value;
      const worse = computeLoss(loss as never, { logits: wrong, target, shape }, options).value;
      expect(better).toBeLessThan(worse);
    }
  });

  it('uint8, uint16 and int32 targets give the same result', () => {
    const logits = towardTarget(target, shape, 0.3).map((z, i) => z + Math.sin(i));
    const results = [Uint8Array.from(target), Uint16Array.from(target), Int32Array.from(target)].map(
      (t) => computeLoss([{ loss: 'dice' }, { loss: 'cross-entropy' }], { logits, target: t, shape }, { grad: true }),
    );
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('float32 agrees with float64 to float32 precision', () => {
    const random = rng(17);
    const values = uniform(random, 150, -3, 3);
    for (const [, loss, options] of specs) {
      const r64 = computeLoss(loss as never, { logits: Float64Array.from(values), target, shape }, options).value;
      const r32 = computeLoss(loss as never, { logits: Float32Array.from(values), target, shape }, options).value;
      expectClose(r32, r64, 1e-5, 1e-6);
    }
  });

  it('5-D volumes equal the same pixels as a 4-D batch', () => {
    const random = rng(18);
    const logits = Float64Array.from(uniform(random, 2 * 3 * 24, -2, 2));
    const volumeTarget = Uint8Array.from(labels(random, 48, 3));
    for (const [, loss, options] of specs) {
      const volume = computeLoss(loss as never, { logits, target: volumeTarget, shape: [2, 3, 2, 3, 4] }, options).value;
      const flat = computeLoss(loss as never, { logits, target: volumeTarget, shape: [2, 3, 6, 4] }, options).value;
      expect(volume).toBe(flat);
    }
  });
});
