// The region losses written as heads over the moments (jaccard, tversky, focal-tversky,
// sensitivity-specificity, log-cosh-dice): their default conventions against the plain formulas
// of test/helpers/reference.ts (ignored pixels, absent classes, 1×1 images, volumes — where no
// reference implements our default or takes an ignore mask), identities between them, the
// focal-Tversky subgradient at TI = 1, and gradient descent on the logits reaching hard Dice ≥ 0.99.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, type LogitsArray, type LossInput, type LossShape } from '../src/index';
import { allFinite, expectArrayClose, expectClose, labels, rng, uniform, hardDice } from './helpers/numeric';
import {
  referenceFocalTversky,
  referenceJaccard,
  referenceSensitivitySpecificity,
  referenceTversky,
  type ReferenceRegionOptions,
} from './helpers/reference';

/** computeLoss with a loss id and options known only at run time (the tables below). */
const run = computeLoss as unknown as (loss: string, input: LossInput, options: Record<string, unknown>) => { value: number; grad: LogitsArray };
const runAsync = computeLossAsync as unknown as (
  loss: string,
  input: LossInput,
  options: Record<string, unknown>,
) => Promise<{ value: number; grad: LogitsArray }>;

type Reference = (logits: ArrayLike<number>, target: ArrayLike<number>, shape: readonly number[], options: ReferenceRegionOptions) => number;

/** [name, loss id, options (also passed to the reference), reference] */
const formulaCases: [string, string, Record<string, number | boolean>, Reference][] = [
  ['jaccard', 'jaccard', {}, referenceJaccard],
  ['jaccard perImage, no background, smooth 1', 'jaccard', { perImage: true, includeBackground: false, smooth: 1 }, referenceJaccard],
  ['tversky', 'tversky', {}, referenceTversky],
  ['tversky perImage α 0.9 β 0.1', 'tversky', { perImage: true, alpha: 0.9, beta: 0.1 }, referenceTversky],
  ['focal-tversky (exponent per class)', 'focal-tversky', {}, referenceFocalTversky],
  ['focal-tversky perImage γ 0.5, no background', 'focal-tversky', { perImage: true, gamma: 0.5, includeBackground: false }, referenceFocalTversky],
  ['focal-tversky γ 3, α 0.5 β 0.5, smooth 0', 'focal-tversky', { gamma: 3, alpha: 0.5, beta: 0.5, smooth: 0 }, referenceFocalTversky],
  ['sensitivity-specificity', 'sensitivity-specificity', {}, referenceSensitivitySpecificity],
  ['sensitivity-specificity perImage r 0.7 smooth 0.1', 'sensitivity-specificity', { perImage: true, r: 0.7, smooth: 0.1 }, referenceSensitivitySpecificity],
  ['sensitivity-specificity r 0, no background', 'sensitivity-specificity', { r: 0, includeBackground: false }, referenceSensitivitySpecificity],
];

/** [name, shape, ignore label or null, absent class or null] */
const inputs: [string, LossShape, number | null, number | null][] = [
  ['non-square, ignored pixels', [2, 4, 5, 7], 255, null],
  ['class 3 absent', [3, 4, 3, 6], null, 3],
  ['1×1 images', [3, 3, 1, 1], null, null],
  ['volume [2, 3, 3, 4, 5], ignored voxels', [2, 3, 3, 4, 5], 255, null],
];

function makeInput(shape: LossShape, ignore: number | null, absent: number | null, seed: number): { logits: Float64Array; target: Uint8Array } {
  const random = rng(seed);
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const logits = Float64Array.from(uniform(random, batch * channels * pixels, -3, 3));
  const target = Uint8Array.from(labels(random, batch * pixels, channels)).map((t) => (t === absent ? 0 : t));
  if (ignore !== null) for (let j = 1; j < target.length; j += 4) target[j] = ignore;
  return { logits, target };
}

describe('default conventions equal their formulas (float64)', () => {
  for (const [name, shape, ignore, absent] of inputs) {
    describe(name, () => {
      it.each(formulaCases)('%s', (_name, loss, options, reference) => {
        const { logits, target } = makeInput(shape, ignore, absent, 40);
        const ignoreIndex = ignore ?? undefined;
        const r = run(loss, { logits, target, shape }, { ...options, ignoreIndex, grad: true });
        expectClose(r.value, reference(logits, target, shape, { ...options, ignoreIndex: ignore }), 1e-12, 1e-15);
        expect(allFinite(r.grad)).toBe(true);
      });
    });
  }
});

describe('ignored pixels take no part', () => {
  const shape = [2, 3, 4, 5] as const;
  const { logits, target } = makeInput(shape, 255, null, 41);
  const losses = [...new Set(formulaCases.map(([, loss]) => loss)), 'log-cosh-dice'];
  it.each(losses)('%s: their logits change nothing, their gradient is 0', (loss) => {
    const a = run(loss, { logits, target, shape }, { ignoreIndex: 255, perImage: true, grad: true });
    const moved = Float64Array.from(logits);
    for (let b = 0; b < 2; ++b) {
      for (let i = 0; i < 20; ++i) {
        if (target[b * 20 + i] !== 255) continue;
        for (let c = 0; c < 3; ++c) moved[(b * 3 + c) * 20 + i] += 5 * (c - 1);
      }
    }
    const b = run(loss, { logits: moved, target, shape }, { ignoreIndex: 255, perImage: true, grad: true });
    expect(b.value).toBe(a.value);
    expect(Array.from(b.grad)).toEqual(Array.from(a.grad));
    for (let i = 0; i < 40; ++i) {
      if (target[i] !== 255) continue;
      const [bb, j] = [Math.floor(i / 20), i % 20];
      for (let c = 0; c < 3; ++c) expect(a.grad[(bb * 3 + c) * 20 + j]).toBe(0);
    }
  });
});

describe('identities', () => {
  const shape = [2, 4, 5, 6] as const;
  const { logits, target } = makeInput(shape, 255, null, 42);
  const input = { logits, target, shape };
  const common = { ignoreIndex: 255, grad: true } as const;

  it('jaccard = tversky with α = β = 1; tversky α = β = ½, smooth s = dice with smooth 2s', () => {
    for (const perImage of [false, true]) {
      const j = computeLoss('jaccard', input, { ...common, perImage, smooth: 0.3 });
      const t = computeLoss('tversky', input, { ...common, perImage, smooth: 0.3, alpha: 1, beta: 1 });
      expectClose(j.value, t.value, 1e-14, 0);
      expectArrayClose(j.grad, t.grad, 1e-12);
      const half = computeLoss('tversky', input, { ...common, perImage, smooth: 0.3, alpha: 0.5, beta: 0.5 });
      const dice = computeLoss('dice', input, { ...common, perImage, smooth: 0.6 });
      expectClose(half.value, dice.value, 1e-14, 0);
      expectArrayClose(half.grad, dice.grad, 1e-12);
    }
  });

  it('focal-tversky with γ = 1 is tversky (per class and after the mean)', () => {
    const t = computeLoss('tversky', input, { ...common, alpha: 0.4, beta: 0.6 });
    for (const preset of [undefined, 'odyssey'] as const) {
      const f = computeLoss('focal-tversky', input, { ...common, alpha: 0.4, beta: 0.6, gamma: 1, preset, perImage: false, smooth: 1e-5 });
      expectClose(f.value, t.value, 1e-14, 0);
      expectArrayClose(f.grad, t.grad, 1e-12);
    }
  });

  it('focal-tversky preset odyssey is (1 − mean TI)^(1/γ) = (tversky with its options)^(1/γ)', () => {
    const t = computeLoss('tversky', input, { ...common, perImage: true, smooth: 1 });
    const f = computeLoss('focal-tversky', input, { ...common, preset: 'odyssey' });
    expectClose(f.value, t.value ** 0.75, 1e-14, 0);
    expectArrayClose(f.grad, t.grad.map((g) => 0.75 * t.value ** -0.25 * g), 1e-12);
  });

  it('log-cosh-dice = log cosh of dice, gradient tanh(dice) · dice gradient, for every dice option', () => {
    for (const options of [{}, { perImage: true, squared: true }, { logLoss: true }, { preset: 'nnunet' as const }, { preset: 'smp' as const }]) {
      const dice = computeLoss('dice', input, { ...common, ...options });
      const lcd = computeLoss('log-cosh-dice', input, { ...common, ...options });
      expectClose(lcd.value, Math.log(Math.cosh(dice.value)), 1e-14, 1e-16);
      expectArrayClose(lcd.grad, dice.grad.map((g) => Math.tanh(dice.value) * g), 1e-12);
    }
  });

  it('sensitivity-specificity with r = 1 sees only each class’s own pixels', () => {
    const r1 = computeLoss('sensitivity-specificity', input, { ...common, r: 1 }).value;
    expectClose(r1, referenceSensitivitySpecificity(logits, target, shape, { r: 1, ignoreIndex: 255 }), 1e-12, 0);
    expect(r1).toBeGreaterThan(0);
  });
});

describe('focal-tversky at TI = 1 (1/γ < 1): finite, subgradient 0', () => {
  const shape = [2, 3, 2, 3] as const;
  const target = Uint8Array.from(labels(rng(43), 12, 3));
  const oneHot = new Float64Array(36);
  for (let b = 0; b < 2; ++b) for (let i = 0; i < 6; ++i) oneHot[(b * 3 + target[b * 6 + i]) * 6 + i] = 1;
  it.each([
    ['per class, γ 4/3', {}],
    ['per class, γ 4, perImage', { gamma: 4, perImage: true }],
    ['odyssey', { preset: 'odyssey' }],
    ['smooth 0', { smooth: 0 }],
  ])('%s', (_name, options) => {
    // Probabilities exactly one-hot ('none'): I = P = G for every class, TI = 1, 1 − TI = 0.
    const r = run('focal-tversky', { logits: oneHot, target, shape }, { ...options, activation: 'none', grad: true });
    expect(r.value).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });
  it('one perfect class among imperfect ones gets no gradient from its own term', () => {
    const probs = Float64Array.from(oneHot);
    // Class 2 stays perfect; classes 0 and 1 swap a little mass at every pixel.
    for (let b = 0; b < 2; ++b) {
      for (let i = 0; i < 6; ++i) {
        if (target[b * 6 + i] === 2) continue;
        const [p0, p1] = [probs[(b * 3) * 6 + i], probs[(b * 3 + 1) * 6 + i]];
        probs[(b * 3) * 6 + i] = 0.8 * p0 + 0.2 * p1;
        probs[(b * 3 + 1) * 6 + i] = 0.2 * p0 + 0.8 * p1;
      }
    }
    const r = computeLoss('focal-tversky', { logits: probs, target, shape }, { activation: 'none', smooth: 0, grad: true });
    expect(Number.isFinite(r.value) && r.value > 0).toBe(true);
    expect(allFinite(r.grad)).toBe(true);
    for (let j = 0; j < 12; ++j) expect(r.grad[(Math.floor(j / 6) * 3 + 2) * 6 + (j % 6)]).toBe(0);
  });
});

describe('gradient descent on the logits reaches hard Dice ≥ 0.99 from a random start', () => {
  const shape = [2, 3, 6, 6] as const;
  const random = rng(44);
  const target = Uint8Array.from(labels(random, 72, 3));
  const start = Float64Array.from(uniform(random, 216, -2, 2));
  it.each([
    ['jaccard', {}],
    ['jaccard', { preset: 'monai' }],
    ['tversky', {}],
    ['tversky', { alpha: 0.9, beta: 0.1, perImage: true }],
    ['focal-tversky', {}],
    ['focal-tversky', { preset: 'odyssey' }],
    ['sensitivity-specificity', {}],
    ['sensitivity-specificity', { preset: 'odyssey' }],
    ['log-cosh-dice', {}],
    ['log-cosh-dice', { preset: 'monai' }],
  ] as const)('%s %j', (loss, options) => {
    const logits = Float64Array.from(start);
    expect(hardDice(logits, target, 2, 3, 36)).toBeLessThan(0.6);
    for (let step = 0; step < 400 && hardDice(logits, target, 2, 3, 36) < 0.99; ++step) {
      const { grad } = run(loss, { logits, target, shape }, { ...options, grad: true });
      // Normalised steps: region gradients scale with 1 / pixels.
      const scale = Array.from(grad).reduce((m, g) => Math.max(m, Math.abs(g)), 0);
      for (let k = 0; k < logits.length; ++k) logits[k] -= (0.5 * grad[k]) / scale;
    }
    expect(hardDice(logits, target, 2, 3, 36)).toBeGreaterThanOrEqual(0.99);
  });
});

describe('computeLossAsync gives the very result of computeLoss', () => {
  const shape = [2, 3, 5, 4] as const;
  const { logits, target } = makeInput(shape, 255, null, 45);
  const input = { logits: Float32Array.from(logits), target, shape };
  it.each([
    ['log-cosh-dice', { preset: 'smp' }],
    ['jaccard', { preset: 'monai' }],
    ['tversky', { alpha: 0.2, beta: 0.8 }],
    ['focal-tversky', { preset: 'odyssey' }],
    ['sensitivity-specificity', { r: 0.3 }],
  ] as const)('%s %j', async (loss, options) => {
    const sync = run(loss, input, { ...options, ignoreIndex: 255, grad: true });
    const async = await runAsync(loss, input, { ...options, ignoreIndex: 255, grad: true });
    expect(async.value).toBe(sync.value);
    expect(Array.from(async.grad)).toEqual(Array.from(sync.grad));
  });
});
