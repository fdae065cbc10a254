// Float64 central finite differences of the value against the returned gradient, for every option
// and preset of cross-entropy, Dice and the region losses (generalized-wasserstein-dice included), every activation (incl. C = 1 and 'none' with probabilities), odd and
// 5-D shapes, an upstream gradient ≠ 1 and a compound loss.
import { describe, expect, it } from 'vitest';

import { computeLoss, type LossSpec, type LossShape } from '../src/index';
import { expectArrayClose, expectClose, finiteDifferences, labels, rng, softmaxChannels, uniform } from './helpers/numeric';

interface GradCase {
  name: string;
  loss: LossSpec;
  shape: LossShape;
  options: Record<string, unknown>;
  /** Build probabilities instead of logits ('none'). */
  probabilities?: boolean;
  /** Label for ~1/5 of the pixels, to exercise ignoreIndex. */
  ignore?: number;
  /** A class relabelled to 0, so it is absent from the target. */
  absent?: number;
  seed?: number;
}

function makeInput(c: GradCase): { logits: Float64Array; target: Int32Array } {
  const random = rng(c.seed ?? 7);
  const [batch, channels, ...spatial] = c.shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const classes = channels === 1 ? 2 : channels;
  let logits: Float64Array = Float64Array.from(uniform(random, batch * channels * pixels, -2, 2));
  if (c.probabilities) {
    // Probabilities away from 0 and 1, where −log and the clamps are smooth.
    logits = channels === 1 ? logits.map((z) => 0.1 + 0.8 / (1 + Math.exp(-z))) : softmaxChannels(logits, batch, channels, pixels);
  }
  const target = Int32Array.from(labels(random, batch * pixels, classes));
  if (c.absent !== undefined) target.forEach((t, j) => (target[j] = t === c.absent ? 0 : t));
  if (c.ignore !== undefined) for (let j = 0; j < target.length; j += 5) target[j] = c.ignore;
  return { logits, target };
}

function gradcheck(c: GradCase): void {
  const { logits, target } = makeInput(c);
  const value = (x: Float64Array): number => computeLoss(c.loss as never, { logits: x, target, shape: c.shape }, c.options).value;
  const result = computeLoss(c.loss as never, { logits, target, shape: c.shape }, { ...c.options, grad: true });
  expect(result.value).toBeCloseTo(value(logits), 14);
  const scale = (c.options.gradScale as number | undefined) ?? 1;
  const numeric = finiteDifferences(value, logits, 1e-6).map((g) => g * scale);
  expect(numeric.some((g) => g !== 0)).toBe(true);
  expectArrayClose(result.grad as Float64Array, numeric, 1e-6, 1, `${c.name} grad`);
  if (scale !== 1) {
    const unscaled = computeLoss(c.loss as never, { logits, target, shape: c.shape }, { ...c.options, gradScale: 1, grad: true });
    expectArrayClose(result.grad as Float64Array, (unscaled.grad as Float64Array).map((g) => g * scale), 1e-14, 1, 'scaled grad');
  }
}

const topkCases: GradCase[] = [
  { name: 'k 10 (default)', loss: 'topk', shape: [2, 4, 5, 5], options: {} },
  { name: 'k 30, ignoreIndex', loss: 'topk', shape: [2, 3, 4, 5], options: { k: 30, ignoreIndex: 9 }, ignore: 9 },
  { name: 'preset nnunet, ignore in the base', loss: 'topk', shape: [2, 3, 4, 5], options: { preset: 'nnunet', k: 40, ignoreIndex: 9 }, ignore: 9 },
  { name: 'sigmoid per channel', loss: 'topk', shape: [2, 3, 4, 3], options: { activation: 'sigmoid', k: 25 } },
  { name: "'none' with probabilities", loss: 'topk', shape: [2, 3, 4, 3], options: { activation: 'none', k: 25 }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: 'topk', shape: [2, 1, 5, 3], options: { k: 50 } },
  { name: 'k 100, gradScale −2.5', loss: 'topk', shape: [3, 5, 7, 3], options: { k: 100, gradScale: -2.5 } },
  { name: '5-D volume', loss: 'topk', shape: [2, 3, 2, 3, 4], options: { k: 20 } },
  { name: '200 pixels per image (several tiles)', loss: 'topk', shape: [2, 3, 10, 20], options: { k: 15 } },
];

const lovaszCases: GradCase[] = [
  { name: "classes 'present' (default)", loss: 'lovasz-softmax', shape: [2, 4, 5, 5], options: {} },
  { name: "classes 'all', absent class", loss: 'lovasz-softmax', shape: [2, 4, 4, 5], options: { classes: 'all' }, absent: 2 },
  { name: 'classes [1, 3], perImage', loss: 'lovasz-softmax', shape: [2, 4, 4, 5], options: { classes: [1, 3], perImage: true } },
  { name: 'perImage, ignoreIndex', loss: 'lovasz-softmax', shape: [3, 3, 4, 5], options: { perImage: true, ignoreIndex: 9 }, ignore: 9 },
  { name: 'sigmoid per channel', loss: 'lovasz-softmax', shape: [2, 3, 4, 3], options: { activation: 'sigmoid' } },
  { name: "'none' with probabilities", loss: 'lovasz-softmax', shape: [2, 3, 4, 3], options: { activation: 'none' }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: 'lovasz-softmax', shape: [2, 1, 5, 3], options: {} },
  { name: 'gradScale −2.5, odd shape', loss: 'lovasz-softmax', shape: [3, 5, 7, 3], options: { gradScale: -2.5 } },
  { name: '5-D volume', loss: 'lovasz-softmax', shape: [2, 3, 2, 3, 4], options: {} },
];

const comboCases: GradCase[] = [
  { name: 'α 0.5 β 0.5 (default)', loss: 'combo', shape: [2, 4, 5, 5], options: {} },
  { name: 'α 0.8 β 0.2, ignoreIndex, perImage', loss: 'combo', shape: [2, 3, 4, 5], options: { alpha: 0.8, beta: 0.2, perImage: true, ignoreIndex: 9 }, ignore: 9 },
  { name: 'β 1, no background, smooth 0.5, absent class', loss: 'combo', shape: [2, 4, 4, 5], options: { beta: 1, includeBackground: false, smooth: 0.5 }, absent: 2 },
  { name: 'sigmoid per channel', loss: 'combo', shape: [2, 3, 4, 3], options: { activation: 'sigmoid', beta: 0.3 } },
  { name: "'none' with probabilities", loss: 'combo', shape: [2, 3, 4, 3], options: { activation: 'none', beta: 0.7 }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: 'combo', shape: [2, 1, 5, 3], options: { alpha: 0.3 } },
  { name: 'gradScale −2.5, odd shape', loss: 'combo', shape: [3, 5, 7, 3], options: { gradScale: -2.5, beta: 0.6 } },
  { name: '5-D volume', loss: 'combo', shape: [2, 3, 2, 3, 4], options: {} },
  { name: '200 pixels per image (several tiles), ignoreIndex', loss: 'combo', shape: [2, 3, 10, 20], options: { beta: 0.3, ignoreIndex: 9 }, ignore: 9 },
  { name: '200 pixels per image (several tiles), sigmoid', loss: 'combo', shape: [2, 3, 10, 20], options: { activation: 'sigmoid' } },
];

const expLogCases: GradCase[] = [
  { name: 'γ 0.3 (default)', loss: 'exp-log', shape: [2, 4, 5, 5], options: {} },
  { name: 'γ 0.5, ignoreIndex, perImage, wDice 0.6 wCe 0.4', loss: 'exp-log', shape: [2, 3, 4, 5], options: { gamma: 0.5, perImage: true, wDice: 0.6, wCe: 0.4, ignoreIndex: 9 }, ignore: 9 },
  { name: 'γ 2, no background, absent class', loss: 'exp-log', shape: [2, 4, 4, 5], options: { gamma: 2, includeBackground: false }, absent: 2 },
  { name: 'preset odyssey', loss: 'exp-log', shape: [2, 3, 4, 5], options: { preset: 'odyssey' } },
  { name: 'preset odyssey, batch, γ 0.7', loss: 'exp-log', shape: [2, 3, 4, 5], options: { preset: 'odyssey', perImage: false, gamma: 0.7 } },
  { name: 'sigmoid per channel', loss: 'exp-log', shape: [2, 3, 4, 3], options: { activation: 'sigmoid' } },
  { name: "'none' with probabilities", loss: 'exp-log', shape: [2, 3, 4, 3], options: { activation: 'none' }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: 'exp-log', shape: [2, 1, 5, 3], options: {} },
  { name: 'gradScale −2.5, odd shape', loss: 'exp-log', shape: [3, 5, 7, 3], options: { gradScale: -2.5 } },
  { name: '200 pixels per image (several tiles), ignoreIndex', loss: 'exp-log', shape: [2, 3, 10, 20], options: { ignoreIndex: 9 }, ignore: 9 },
  { name: '5-D volume', loss: 'exp-log', shape: [2, 3, 2, 3, 4], options: {} },
];

const unifiedFocalCases: GradCase[] = [
  { name: 'λ 0.5 δ 0.6 γ 0.5 (default)', loss: 'unified-focal', shape: [2, 4, 5, 5], options: {} },
  { name: 'λ 0.3 δ 0.8 γ 0.25, ignoreIndex', loss: 'unified-focal', shape: [2, 3, 4, 5], options: { lambda: 0.3, delta: 0.8, gamma: 0.25, ignoreIndex: 9 }, ignore: 9 },
  { name: 'preset monai, absent class', loss: 'unified-focal', shape: [2, 4, 4, 5], options: { preset: 'monai' }, absent: 2 },
  { name: 'γ 0 and γ 1 ends: γ 1', loss: 'unified-focal', shape: [2, 3, 4, 3], options: { gamma: 1 } },
  { name: 'sigmoid per channel', loss: 'unified-focal', shape: [2, 3, 4, 3], options: { activation: 'sigmoid' } },
  { name: "'none' with probabilities", loss: 'unified-focal', shape: [2, 3, 4, 3], options: { activation: 'none' }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: 'unified-focal', shape: [2, 1, 5, 3], options: {} },
  { name: 'gradScale −2.5, odd shape', loss: 'unified-focal', shape: [3, 5, 7, 3], options: { gradScale: -2.5 } },
  { name: '5-D volume', loss: 'unified-focal', shape: [2, 3, 2, 3, 4], options: {} },
];

const focalCases: GradCase[] = [
  { name: 'γ 2 (default)', loss: 'focal', shape: [2, 4, 3, 5], options: {} },
  { name: 'γ 0.5, α, ignoreIndex', loss: 'focal', shape: [2, 3, 4, 3], options: { gamma: 0.5, alpha: [0.25, 1, 2], ignoreIndex: 9 }, ignore: 9 },
  { name: 'γ 3, preset monai', loss: 'focal', shape: [2, 3, 4, 3], options: { gamma: 3, preset: 'monai' } },
  { name: 'sigmoid per channel', loss: 'focal', shape: [2, 3, 4, 3], options: { activation: 'sigmoid' } },
  { name: "'none' with probabilities", loss: 'focal', shape: [2, 3, 4, 3], options: { activation: 'none', gamma: 1.5 }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: 'focal', shape: [2, 1, 5, 3], options: { alpha: [0.75, 0.25] } },
  { name: 'odd shape, gradScale −2.5', loss: 'focal', shape: [3, 5, 7, 3], options: { gradScale: -2.5, gamma: 1 } },
  { name: '5-D volume', loss: 'focal', shape: [2, 3, 2, 3, 4], options: {} },
  { name: 'preset smp (sigmoid by default), α 0.25, ignoreIndex', loss: 'focal', shape: [2, 4, 3, 5], options: { preset: 'smp', alpha: 0.25, ignoreIndex: 9 }, ignore: 9 },
  { name: 'preset smp γ 0.5, no α, absent class', loss: 'focal', shape: [2, 3, 4, 3], options: { preset: 'smp', gamma: 0.5 }, absent: 1 },
  { name: 'preset smp γ 0, α 0.9, gradScale −2.5', loss: 'focal', shape: [3, 2, 5, 3], options: { preset: 'smp', gamma: 0, alpha: 0.9, gradScale: -2.5 } },
  { name: 'preset smp, 5-D volume', loss: 'focal', shape: [2, 3, 2, 3, 4], options: { preset: 'smp', gamma: 3, alpha: 0.6 } },
  { name: 'preset smp C = 1 (binary mode), α 0.3', loss: 'focal', shape: [2, 1, 5, 3], options: { preset: 'smp', alpha: 0.3 } },
];

const ceCases: GradCase[] = [
  { name: 'softmax', loss: 'cross-entropy', shape: [2, 4, 3, 5], options: {} },
  {
    name: 'classWeights + labelSmoothing + ignoreIndex',
    loss: 'cross-entropy',
    shape: [2, 4, 3, 5],
    options: { classWeights: [0.5, 2, 1.25, 0], labelSmoothing: 0.15, ignoreIndex: 255 },
    ignore: 255,
  },
  { name: 'negative ignoreIndex, labelSmoothing 1', loss: 'cross-entropy', shape: [3, 3, 2, 3], options: { ignoreIndex: -1, labelSmoothing: 1 }, ignore: -1 },
  { name: 'sigmoid per channel', loss: 'cross-entropy', shape: [2, 3, 4, 3], options: { activation: 'sigmoid' } },
  { name: "'none' with probabilities", loss: 'cross-entropy', shape: [2, 3, 4, 3], options: { activation: 'none' }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: 'cross-entropy', shape: [2, 1, 5, 3], options: { classWeights: [0.3, 1.7] } },
  { name: "C = 1 'none'", loss: 'cross-entropy', shape: [2, 1, 5, 3], options: { activation: 'none' }, probabilities: true },
  { name: 'odd shape, gradScale −2.5', loss: 'cross-entropy', shape: [3, 5, 7, 3], options: { gradScale: -2.5, labelSmoothing: 0.05 } },
  { name: '5-D volume', loss: 'cross-entropy', shape: [2, 3, 2, 3, 4], options: { classWeights: [1, 2, 3] } },
];

const diceFlags: Record<string, unknown>[] = [];
for (const perImage of [false, true]) {
  for (const includeBackground of [true, false]) {
    for (const squared of [false, true]) {
      for (const logLoss of [false, true]) diceFlags.push({ perImage, includeBackground, squared, logLoss });
    }
  }
}

const diceCases: GradCase[] = [
  ...diceFlags.map(
    (options): GradCase => ({
      name: JSON.stringify(options),
      loss: 'dice',
      shape: [2, 3, 4, 3],
      options: { ...options, smooth: 0.5 },
    }),
  ),
  { name: 'smooth 0', loss: 'dice', shape: [2, 3, 4, 3], options: { smooth: 0 } },
  { name: 'absent class, perImage', loss: 'dice', shape: [2, 4, 3, 3], options: { perImage: true }, absent: 3 },
  { name: 'ignoreIndex', loss: 'dice', shape: [2, 3, 4, 3], options: { ignoreIndex: 9, perImage: true }, ignore: 9 },
  { name: 'sigmoid per channel', loss: 'dice', shape: [2, 3, 4, 3], options: { activation: 'sigmoid', squared: true } },
  { name: "'none' with probabilities", loss: 'dice', shape: [2, 3, 4, 3], options: { activation: 'none', logLoss: true }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: 'dice', shape: [2, 1, 4, 5], options: { perImage: true } },
  { name: 'C = 1 sigmoid, no background', loss: 'dice', shape: [2, 1, 4, 5], options: { includeBackground: false } },
  { name: "C = 1 'none'", loss: 'dice', shape: [2, 1, 4, 5], options: { activation: 'none', squared: true }, probabilities: true },
  { name: 'preset monai', loss: 'dice', shape: [2, 4, 3, 3], options: { preset: 'monai' } },
  { name: 'preset smp (absent class)', loss: 'dice', shape: [2, 4, 3, 3], options: { preset: 'smp' }, absent: 2 },
  { name: 'preset nnunet', loss: 'dice', shape: [2, 4, 3, 3], options: { preset: 'nnunet', perImage: true } },
  { name: 'odd shape, gradScale 0.37', loss: 'dice', shape: [3, 5, 7, 3], options: { gradScale: 0.37, perImage: true } },
  { name: '5-D volume', loss: 'dice', shape: [2, 3, 2, 3, 4], options: { perImage: true, includeBackground: false } },
];

/** One case per option and preset of each region loss, plus ignore, absent class, C = 1, 'none', odd and 5-D shapes. */
function regionCases(loss: string, variants: [string, Record<string, unknown>][]): GradCase[] {
  return [
    ...variants.map(([name, options]): GradCase => ({ name, loss: loss as LossSpec, shape: [2, 3, 4, 3], options })),
    { name: 'ignoreIndex, perImage', loss: loss as LossSpec, shape: [2, 3, 4, 3], options: { ignoreIndex: 9, perImage: true }, ignore: 9 },
    { name: 'absent class, perImage', loss: loss as LossSpec, shape: [2, 4, 3, 3], options: { perImage: true }, absent: 3 },
    { name: 'sigmoid per channel', loss: loss as LossSpec, shape: [2, 3, 4, 3], options: { activation: 'sigmoid' } },
    { name: "'none' with probabilities", loss: loss as LossSpec, shape: [2, 3, 4, 3], options: { activation: 'none' }, probabilities: true },
    { name: 'C = 1 sigmoid, no background', loss: loss as LossSpec, shape: [2, 1, 4, 5], options: { includeBackground: false } },
    { name: 'odd shape, gradScale −1.7', loss: loss as LossSpec, shape: [3, 5, 7, 3], options: { gradScale: -1.7 } },
    { name: '5-D volume', loss: loss as LossSpec, shape: [2, 3, 2, 3, 4], options: { perImage: true, includeBackground: false } },
  ];
}

const brats = [
  [0, 1, 1, 1],
  [1, 0, 0.6, 0.5],
  [1, 0.6, 0, 0.7],
  [1, 0.5, 0.7, 0],
];
const gwdl = 'generalized-wasserstein-dice' as const;
const wassersteinCases: GradCase[] = [
  { name: 'default (M = 1 − I)', loss: gwdl, shape: [2, 3, 4, 3], options: {} },
  { name: 'distance matrix', loss: gwdl, shape: [2, 4, 3, 3], options: { distanceMatrix: brats } },
  { name: 'gdl weighting, distance matrix ×2', loss: gwdl, shape: [2, 4, 3, 3], options: { weighting: 'gdl', distanceMatrix: brats.map((r) => r.map((v) => 2 * v)) } },
  { name: 'ignoreIndex, gdl', loss: gwdl, shape: [2, 3, 4, 3], options: { ignoreIndex: 9, weighting: 'gdl' }, ignore: 9 },
  { name: 'absent class', loss: gwdl, shape: [2, 4, 3, 3], options: { distanceMatrix: new Float64Array(brats.flat()) }, absent: 3 },
  { name: 'sigmoid per channel', loss: gwdl, shape: [2, 3, 4, 3], options: { activation: 'sigmoid' } },
  { name: "'none' with probabilities", loss: gwdl, shape: [2, 3, 4, 3], options: { activation: 'none', weighting: 'gdl' }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: gwdl, shape: [2, 1, 4, 5], options: {} },
  { name: 'odd shape, gradScale −1.7', loss: gwdl, shape: [3, 5, 7, 3], options: { gradScale: -1.7 } },
  { name: '5-D volume', loss: gwdl, shape: [2, 3, 2, 3, 4], options: { weighting: 'gdl' } },
  { name: '200 pixels per image (several tiles)', loss: gwdl, shape: [2, 3, 10, 20], options: { distanceMatrix: [[0, 1, 0.5], [1, 0, 0.8], [0.5, 0.8, 0]] } },
];

const robustTCases: GradCase[] = [
  { name: 'default θ 1, C = 2', loss: 'robust-t', shape: [2, 2, 4, 3], options: {} },
  { name: 'θ −1.3, C = 4 (mean over foreground classes)', loss: 'robust-t', shape: [2, 4, 3, 3], options: { nuParameter: -1.3 } },
  { name: 'θ 3, ignoreIndex', loss: 'robust-t', shape: [2, 3, 4, 3], options: { nuParameter: 3, ignoreIndex: 9 }, ignore: 9 },
  { name: 'sigmoid per channel', loss: 'robust-t', shape: [2, 3, 4, 3], options: { activation: 'sigmoid' } },
  { name: "'none' with probabilities", loss: 'robust-t', shape: [2, 3, 4, 3], options: { activation: 'none' }, probabilities: true },
  { name: 'C = 1 sigmoid', loss: 'robust-t', shape: [2, 1, 4, 5], options: { nuParameter: 0.5 } },
  { name: 'odd shape, gradScale −1.7', loss: 'robust-t', shape: [3, 5, 7, 3], options: { gradScale: -1.7 } },
  { name: '5-D volume', loss: 'robust-t', shape: [2, 3, 2, 3, 4], options: {} },
];

const regionLossCases: [string, GradCase[]][] = [
  [gwdl, wassersteinCases],
  ['robust-t', robustTCases],
  [
    'log-cosh-dice',
    regionCases('log-cosh-dice', [
      ['default', {}],
      ['perImage, squared, smooth 0.5', { perImage: true, squared: true, smooth: 0.5 }],
      ['logLoss, no background', { logLoss: true, includeBackground: false }],
      ['preset monai', { preset: 'monai' }],
      ['preset smp', { preset: 'smp' }],
      ['preset nnunet', { preset: 'nnunet' }],
    ]),
  ],
  [
    'jaccard',
    regionCases('jaccard', [
      ['default', {}],
      ['perImage, smooth 0.5', { perImage: true, smooth: 0.5 }],
      ['no background, smooth 0', { includeBackground: false, smooth: 0 }],
      ['squared', { squared: true }],
      ['preset monai', { preset: 'monai' }],
      ['preset monai, squared, batch', { preset: 'monai', squared: true, perImage: false }],
    ]),
  ],
  [
    'tversky',
    regionCases('tversky', [
      ['default', {}],
      ['perImage, smooth 0.5', { perImage: true, smooth: 0.5 }],
      ['no background, smooth 0', { includeBackground: false, smooth: 0 }],
      ['alpha 0.9 beta 0.1', { alpha: 0.9, beta: 0.1 }],
      ['alpha 0 beta 2', { alpha: 0, beta: 2 }],
      ['alpha 1.5 beta 0', { alpha: 1.5, beta: 0 }],
    ]),
  ],
  [
    'focal-tversky',
    regionCases('focal-tversky', [
      ['default (γ 4/3)', {}],
      ['perImage, smooth 0.5', { perImage: true, smooth: 0.5 }],
      ['no background, smooth 0', { includeBackground: false, smooth: 0 }],
      ['alpha 0.6 beta 0.4', { alpha: 0.6, beta: 0.4 }],
      ['gamma 0.5', { gamma: 0.5 }],
      ['gamma 3', { gamma: 3 }],
      ['preset odyssey', { preset: 'odyssey' }],
      ['preset odyssey, batch, gamma 2', { preset: 'odyssey', perImage: false, gamma: 2 }],
    ]),
  ],
  [
    'sensitivity-specificity',
    regionCases('sensitivity-specificity', [
      ['default', {}],
      ['perImage, smooth 0.5', { perImage: true, smooth: 0.5 }],
      ['no background, smooth 0', { includeBackground: false, smooth: 0 }],
      ['r 0', { r: 0 }],
      ['r 1', { r: 1 }],
      ['r 0.4', { r: 0.4 }],
      ['preset odyssey', { preset: 'odyssey' }],
    ]),
  ],
];

const compoundCases: GradCase[] = [
  {
    name: '0.5 dice + 0.5 cross-entropy',
    loss: [{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }],
    shape: [2, 4, 3, 5],
    options: {},
  },
  {
    name: 'weighted terms with options, ignore, gradScale',
    loss: [
      { loss: 'dice', weight: 0.3, options: { perImage: true, squared: true } },
      { loss: 'cross-entropy', weight: 0.7, options: { classWeights: [1, 2, 0.5], labelSmoothing: 0.1 } },
      { loss: 'dice', weight: -0.2, options: { preset: 'nnunet' } },
    ],
    shape: [2, 3, 4, 3],
    options: { ignoreIndex: 7, gradScale: 1.5 },
    ignore: 7,
  },
  {
    name: 'C = 1 sigmoid compound',
    loss: [{ loss: 'cross-entropy' }, { loss: 'dice', options: { includeBackground: false } }],
    shape: [2, 1, 4, 4],
    options: {},
  },
  {
    name: 'dice + topk + lovasz + combo + exp-log + unified-focal + cross-entropy (special terms with the tile terms), ignore',
    loss: [
      { loss: 'dice', weight: 0.4, options: { perImage: true } },
      { loss: 'topk', weight: 0.6, options: { k: 30 } },
      { loss: 'lovasz-softmax', weight: 0.3, options: { perImage: true } },
      { loss: 'combo', weight: 0.2, options: { beta: 0.7 } },
      { loss: 'exp-log', weight: 0.3, options: { gamma: 0.6 } },
      { loss: 'unified-focal', weight: 0.4 },
      { loss: 'cross-entropy', weight: 0.25 },
    ],
    shape: [2, 3, 4, 3],
    options: { ignoreIndex: 7, gradScale: 0.5 },
    ignore: 7,
  },
  {
    name: 'focal smp + dice + cross-entropy under sigmoid (channel complements beside region terms), ignore',
    loss: [
      { loss: 'focal', weight: 0.7, options: { preset: 'smp', alpha: 0.25 } },
      { loss: 'dice', weight: 0.4 },
      { loss: 'focal', weight: 0.3, options: { preset: 'smp', gamma: 1 } },
      { loss: 'cross-entropy', weight: 0.25 },
    ],
    shape: [2, 3, 4, 3],
    options: { activation: 'sigmoid', ignoreIndex: 7, gradScale: 1.5 },
    ignore: 7,
  },
  {
    name: 'region losses sharing the moments, ignore',
    loss: [
      { loss: 'jaccard', weight: 0.4, options: { squared: true } },
      { loss: 'tversky', weight: 0.3, options: { perImage: true } },
      { loss: 'focal-tversky', weight: 0.2, options: { preset: 'odyssey' } },
      { loss: 'sensitivity-specificity', weight: 0.5 },
      { loss: 'log-cosh-dice', weight: -0.1 },
      { loss: 'cross-entropy', weight: 0.25 },
      { loss: 'generalized-wasserstein-dice', weight: 0.35, options: { weighting: 'gdl' } },
    ],
    shape: [2, 3, 4, 3],
    options: { ignoreIndex: 7 },
    ignore: 7,
  },
];

describe('finite differences (float64)', () => {
  describe('cross-entropy', () => {
    it.each(ceCases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
  });
  describe('topk', () => {
    it.each(topkCases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
  });
  describe('lovasz-softmax', () => {
    it.each(lovaszCases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
  });
  describe('combo', () => {
    it.each(comboCases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
  });
  describe('exp-log', () => {
    it.each(expLogCases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
  });
  describe('unified-focal', () => {
    it.each(unifiedFocalCases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
  });
  describe('focal', () => {
    it.each(focalCases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
  });
  describe('dice', () => {
    it.each(diceCases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
  });
  for (const [loss, cases] of regionLossCases) {
    describe(loss, () => {
      it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
    });
  }
  describe('compound', () => {
    it.each(compoundCases.map((c) => [c.name, c] as const))('%s', (_n, c) => gradcheck(c));
  });
});

describe('robust-t: gradNuParameter is d value / d θ (float64 central differences)', () => {
  it.each(robustTCases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const { logits, target } = makeInput(c);
    const input = { logits, target, shape: c.shape };
    const theta = (c.options.nuParameter as number | undefined) ?? 1;
    const at = (t: number): number => computeLoss('robust-t', input, { ...c.options, nuParameter: t } as never).value;
    const h = 1e-5;
    const numeric = ((at(theta + h) - at(theta - h)) / (2 * h)) * ((c.options.gradScale as number | undefined) ?? 1);
    const r = computeLoss('robust-t', input, { ...c.options, grad: true } as never);
    expectClose(r.gradNuParameter ?? Number.NaN, numeric, 1e-6, 1e-7);
  });
  it('a compound: Σ weight · d term / d θ over its robust-t terms', () => {
    const c = robustTCases[1];
    const { logits, target } = makeInput(c);
    const input = { logits, target, shape: c.shape };
    const one = computeLoss('robust-t', input, { nuParameter: -1.3, grad: true });
    const both = computeLoss([{ loss: 'robust-t', weight: 0.4, options: { nuParameter: -1.3 } }, { loss: 'dice' }, { loss: 'robust-t', weight: 0.25, options: { nuParameter: -1.3 } }], input, { grad: true });
    expectClose(both.gradNuParameter ?? Number.NaN, 0.65 * (one.gradNuParameter ?? Number.NaN), 1e-13, 0);
    expect(computeLoss('dice', input, { grad: true }).gradNuParameter).toBeUndefined();
    expect(computeLoss('robust-t', input, {}).gradNuParameter).toBeUndefined();
  });
});

describe('compound loss', () => {
  it('equals the weighted sum of its terms, value and gradient', () => {
    const c = compoundCases[1];
    const { logits, target } = makeInput(c);
    const input = { logits, target, shape: c.shape };
    const common = { ignoreIndex: 7, grad: true as const };
    const dice = computeLoss('dice', input, { ...common, perImage: true, squared: true });
    const ce = computeLoss('cross-entropy', input, { ...common, classWeights: [1, 2, 0.5], labelSmoothing: 0.1 });
    const nn = computeLoss('dice', input, { ...common, preset: 'nnunet' });
    const total = computeLoss(c.loss as never, input, { ignoreIndex: 7, grad: true });
    expect(total.value).toBeCloseTo(0.3 * dice.value + 0.7 * ce.value - 0.2 * nn.value, 14);
    const expected = dice.grad.map((g, i) => 0.3 * g + 0.7 * ce.grad[i] - 0.2 * nn.grad[i]);
    expectArrayClose(total.grad, expected, 1e-12);
  });
});
