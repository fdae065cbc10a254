// The CUDA engines (native/cuda) against the CPU engines (native/core), both through the torch op
// (src/torch, `device: 'cuda'` vs `device: 'cpu'`): for cross-entropy (class weights, smoothing,
// ignore), Dice (every option and preset) and the other region losses, every activation, C = 1, all-ignored batches,
// compound objectives, large shapes (B = 4, C = 19, 512×512) and K = 150 (the region engine's
// shared-memory sizing), the value and the gradient on the GPU equal those on the CPU: float64
// within 1e-10, float32 within 1e-5 (relative, with an absolute floor of the same tolerance times
// the largest gradient entry).
//
// Skipped, with the reason printed, when the torch addon is not built, has no CUDA engines or sees
// no CUDA device; SEGLOSS_REQUIRE_GPU=1 (scripts/gpu-check.sh) turns the skip into a failure.
import { describe, expect, it } from 'vitest';

import { computeLossTorch, torchAvailable, torchInfo } from '../src/torch/index';
import type { LogitsArray, LossInput, TargetArray } from '../src/types';
import { expectArrayClose, expectClose, rng } from './helpers/numeric';

/** Why the GPU suite cannot run here ('' when it can). */
function unavailableReason(): string {
  if (!torchAvailable()) {
    try {
      torchInfo();
    } catch (error) {
      return `the torch addon is unavailable: ${(error as Error).message}`;
    }
    return 'the torch addon is unavailable';
  }
  const info = torchInfo();
  if (!info.cudaBuilt) return `the torch addon was built against a CPU libtorch ${info.builtAgainst} (no CUDA engines)`;
  if (!info.cuda) return 'libtorch sees no CUDA device';
  return '';
}

const skipReason = unavailableReason();
const available = skipReason === '';
const required = process.env.SEGLOSS_REQUIRE_GPU === '1';
if (!available && !required) console.warn(`test/gpu.test.ts skipped: ${skipReason}`);

describe('CUDA engines availability', () => {
  it.runIf(required)('the torch addon has CUDA engines and sees a device (SEGLOSS_REQUIRE_GPU=1)', () => {
    expect(skipReason).toBe('');
  });
  it.skipIf(available || required)(`skipped: ${skipReason}`, () => {});
  it.runIf(available)('names the device', () => {
    const info = torchInfo();
    expect(info.cudaDevices).toBeGreaterThan(0);
    console.log(`CUDA engines on ${info.deviceNames.join(', ')} (libtorch ${info.torchVersion})`);
  });
});

type Dtype = 'float32' | 'float64';
type TargetType = 'uint8' | 'uint16' | 'int32';
type AnyOptions = Record<string, unknown>;
type Spec = string | readonly { loss: string; weight?: number; options?: AnyOptions }[];
type Result = { value: number; grad?: LogitsArray };

const runTorch = computeLossTorch as unknown as (loss: Spec, input: LossInput, options?: AnyOptions) => Result;

/** How a case's input is drawn. */
interface InputSpec {
  readonly shape: readonly number[];
  readonly targetType?: TargetType; // default uint8
  /** 'probabilities': inputs for activation 'none' (softmax over C, or a foreground probability for C = 1). */
  readonly values?: 'logits' | 'probabilities';
  /** Labels drawn from [0, labelClasses) (default all K classes): the others are absent. */
  readonly labelClasses?: number;
  /** Every `every`-th pixel carries the ignore index `index` (every = 1: all of them). */
  readonly ignore?: { readonly index: number; readonly every: number };
}

/** Deterministic input filled straight into typed arrays (the large cases hold 20M logits). */
function makeInput(spec: InputSpec, dtype: Dtype, seed: number): LossInput {
  const random = rng(seed);
  const [batch, channels, ...spatial] = spec.shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const logits: LogitsArray = dtype === 'float64' ? new Float64Array(batch * channels * pixels) : new Float32Array(batch * channels * pixels);
  if (spec.values === 'probabilities') {
    fillProbabilities(logits, batch, channels, pixels, random);
  } else {
    for (let j = 0; j < logits.length; ++j) logits[j] = 6 * random() - 3;
  }
  const classes = channels === 1 ? 2 : channels;
  const drawn = spec.labelClasses ?? classes;
  const TargetArrayType = { uint8: Uint8Array, uint16: Uint16Array, int32: Int32Array }[spec.targetType ?? 'uint8'];
  const target: TargetArray = new TargetArrayType(batch * pixels);
  for (let j = 0; j < target.length; ++j) {
    const ignored = spec.ignore !== undefined && j % spec.ignore.every === 0;
    target[j] = ignored ? spec.ignore!.index : Math.floor(random() * drawn);
  }
  return { logits, target, shape: spec.shape as LossInput['shape'] };
}

/** Probabilities in [0.02, 1): a distribution over C per pixel, or the foreground for C = 1. */
function fillProbabilities(out: LogitsArray, batch: number, channels: number, pixels: number, random: () => number): void {
  const p = new Float64Array(channels);
  for (let b = 0; b < batch; ++b) {
    for (let i = 0; i < pixels; ++i) {
      let total = 0;
      for (let c = 0; c < channels; ++c) {
        p[c] = 0.02 + 0.98 * random();
        total += p[c];
      }
      for (let c = 0; c < channels; ++c) out[(b * channels + c) * pixels + i] = channels === 1 ? p[c] : p[c] / total;
    }
  }
}

/** One comparison: a loss spec, its options and its input, in the listed precisions. */
interface Case {
  readonly name: string;
  readonly loss: Spec;
  readonly options: AnyOptions;
  readonly input: InputSpec;
  readonly dtypes?: readonly Dtype[]; // default both
  readonly timeout?: number;
}

const ignore255 = { index: 255, every: 5 } as const;
const allIgnored = { index: 255, every: 1 } as const;
const surveyObjective = [
  { loss: 'dice', weight: 0.5 },
  { loss: 'cross-entropy', weight: 0.5 },
] as const;
const large = [4, 19, 512, 512] as const;
const large150 = [2, 150, 64, 64] as const;

const cases: Case[] = [
  // cross-entropy
  { name: 'cross-entropy', loss: 'cross-entropy', options: {}, input: { shape: [2, 5, 17, 13] } },
  {
    name: 'cross-entropy, class weights + smoothing + ignore 255',
    loss: 'cross-entropy',
    options: { classWeights: [0.5, 2, 1, 0.25], labelSmoothing: 0.1, ignoreIndex: 255 },
    input: { shape: [3, 4, 16, 9], ignore: ignore255 },
  },
  {
    name: 'cross-entropy, class weights, int32 ignore -1',
    loss: 'cross-entropy',
    options: { classWeights: [3, 1, 0.2], ignoreIndex: -1 },
    input: { shape: [2, 3, 11, 7], targetType: 'int32', ignore: { index: -1, every: 3 } },
  },
  {
    name: 'cross-entropy, sigmoid + smoothing, uint16',
    loss: 'cross-entropy',
    options: { activation: 'sigmoid', labelSmoothing: 0.2 },
    input: { shape: [2, 3, 8, 8], targetType: 'uint16' },
  },
  {
    name: 'cross-entropy, none (probabilities) + weights',
    loss: 'cross-entropy',
    options: { activation: 'none', classWeights: [1, 2, 3, 4] },
    input: { shape: [2, 4, 8, 8], values: 'probabilities' },
  },
  { name: 'cross-entropy, C = 1 sigmoid', loss: 'cross-entropy', options: { labelSmoothing: 0.1 }, input: { shape: [2, 1, 9, 9] } },
  {
    name: 'cross-entropy, C = 1 none',
    loss: 'cross-entropy',
    options: { activation: 'none' },
    input: { shape: [2, 1, 9, 9], values: 'probabilities' },
  },
  {
    name: 'cross-entropy, all pixels ignored',
    loss: 'cross-entropy',
    options: { ignoreIndex: 255 },
    input: { shape: [2, 3, 4, 4], ignore: allIgnored },
  },
  { name: 'cross-entropy, 1×1 images', loss: 'cross-entropy', options: {}, input: { shape: [3, 4, 1, 1] } },
  // dice: options
  { name: 'dice', loss: 'dice', options: {}, input: { shape: [2, 4, 17, 13] } },
  { name: 'dice, perImage, no background', loss: 'dice', options: { perImage: true, includeBackground: false }, input: { shape: [3, 4, 8, 8] } },
  { name: 'dice, smooth 0, ignore', loss: 'dice', options: { smooth: 0, ignoreIndex: 255 }, input: { shape: [2, 3, 9, 9], ignore: ignore255 } },
  { name: 'dice, squared, smooth 1', loss: 'dice', options: { squared: true, smooth: 1 }, input: { shape: [2, 3, 9, 7] } },
  { name: 'dice, logLoss, perImage', loss: 'dice', options: { logLoss: true, perImage: true }, input: { shape: [2, 3, 9, 7] } },
  { name: 'dice, absent class', loss: 'dice', options: {}, input: { shape: [2, 4, 8, 8], labelClasses: 3 } },
  // dice: presets
  { name: 'dice, preset monai', loss: 'dice', options: { preset: 'monai' }, input: { shape: [2, 3, 12, 10] } },
  {
    name: 'dice, preset smp, absent class, ignore',
    loss: 'dice',
    options: { preset: 'smp', ignoreIndex: 255 },
    input: { shape: [2, 4, 12, 10], labelClasses: 3, ignore: ignore255 },
  },
  { name: 'dice, preset nnunet', loss: 'dice', options: { preset: 'nnunet' }, input: { shape: [2, 3, 12, 10], targetType: 'int32' } },
  { name: 'dice, preset nnunet, perImage', loss: 'dice', options: { preset: 'nnunet', perImage: true }, input: { shape: [2, 3, 12, 10] } },
  // dice: activations, C = 1
  { name: 'dice, sigmoid', loss: 'dice', options: { activation: 'sigmoid', perImage: true }, input: { shape: [2, 3, 10, 10] } },
  { name: 'dice, none (probabilities)', loss: 'dice', options: { activation: 'none' }, input: { shape: [2, 3, 10, 10], values: 'probabilities' } },
  { name: 'dice, C = 1 sigmoid', loss: 'dice', options: {}, input: { shape: [2, 1, 11, 9] } },
  { name: 'dice, C = 1 sigmoid, no background', loss: 'dice', options: { includeBackground: false }, input: { shape: [2, 1, 11, 9] } },
  {
    name: 'dice, C = 1 none, squared',
    loss: 'dice',
    options: { activation: 'none', squared: true },
    input: { shape: [2, 1, 11, 9], values: 'probabilities' },
  },
  // all ignored, compounds, odd sizes
  { name: 'dice, all pixels ignored', loss: 'dice', options: { ignoreIndex: 255 }, input: { shape: [2, 3, 4, 4], ignore: allIgnored } },
  {
    name: 'dice nnunet, all pixels ignored',
    loss: 'dice',
    options: { preset: 'nnunet', ignoreIndex: 255 },
    input: { shape: [2, 3, 4, 4], ignore: allIgnored },
  },
  { name: '0.5·dice + 0.5·cross-entropy', loss: surveyObjective, options: { ignoreIndex: 255 }, input: { shape: [2, 3, 33, 31], ignore: ignore255 } },
  {
    name: 'compound with term options',
    loss: [
      { loss: 'dice', weight: 0.7, options: { preset: 'monai' } },
      { loss: 'cross-entropy', weight: 0.3, options: { labelSmoothing: 0.05, classWeights: [1, 2, 0.5] } },
    ],
    options: {},
    input: { shape: [3, 3, 20, 20] },
  },
  { name: 'dice, volume [B, C, D, H, W]', loss: 'dice', options: { perImage: true }, input: { shape: [2, 3, 3, 7, 5] } },
  // special losses: no CUDA engine, the torch op runs them on the CPU engine (host copies)
  { name: 'topk, k 20, ignore', loss: 'topk', options: { k: 20, ignoreIndex: 255 }, input: { shape: [2, 3, 17, 13], ignore: ignore255 } },
  { name: 'topk + dice compound', loss: [{ loss: 'topk', weight: 0.5 }, { loss: 'dice', weight: 0.5 }], options: {}, input: { shape: [2, 4, 12, 10] } },
  { name: 'lovasz-softmax, perImage, ignore', loss: 'lovasz-softmax', options: { perImage: true, ignoreIndex: 255 }, input: { shape: [2, 3, 17, 13], ignore: ignore255 } },
  { name: 'combo, α 0.7, ignore', loss: 'combo', options: { alpha: 0.7, ignoreIndex: 255 }, input: { shape: [2, 3, 17, 13], ignore: ignore255 } },
  { name: 'exp-log, preset odyssey', loss: 'exp-log', options: { preset: 'odyssey' }, input: { shape: [2, 3, 17, 13] } },
  { name: 'unified-focal, ignore', loss: 'unified-focal', options: { ignoreIndex: 255 }, input: { shape: [2, 3, 17, 13], ignore: ignore255 } },
  // the other region heads
  { name: 'log-cosh-dice, perImage, ignore', loss: 'log-cosh-dice', options: { perImage: true, ignoreIndex: 255 }, input: { shape: [2, 3, 9, 9], ignore: ignore255 } },
  { name: 'jaccard, preset monai, squared', loss: 'jaccard', options: { preset: 'monai', squared: true }, input: { shape: [2, 4, 12, 10] } },
  { name: 'tversky, α 0.8 β 0.2, ignore', loss: 'tversky', options: { alpha: 0.8, beta: 0.2, ignoreIndex: 255 }, input: { shape: [2, 3, 17, 13], ignore: ignore255 } },
  { name: 'focal-tversky, absent class', loss: 'focal-tversky', options: {}, input: { shape: [2, 4, 8, 8], labelClasses: 3 } },
  { name: 'focal-tversky, preset odyssey, C = 1 sigmoid', loss: 'focal-tversky', options: { preset: 'odyssey' }, input: { shape: [2, 1, 11, 9] } },
  { name: 'sensitivity-specificity, volume', loss: 'sensitivity-specificity', options: {}, input: { shape: [2, 3, 3, 7, 5] } },
  { name: 'sensitivity-specificity, preset odyssey, all ignored', loss: 'sensitivity-specificity', options: { preset: 'odyssey', ignoreIndex: 255 }, input: { shape: [2, 3, 4, 4], ignore: allIgnored } },
  // CPU-engine-only losses: the torch op moves CUDA inputs to the CPU engine and the gradient back
  {
    name: 'generalized-wasserstein-dice (CPU engine for CUDA tensors), gdl, ignore',
    loss: 'generalized-wasserstein-dice',
    options: { weighting: 'gdl', ignoreIndex: 255 },
    input: { shape: [2, 3, 17, 13], ignore: ignore255 },
  },
  { name: 'rmi (CPU engine for CUDA tensors), ignore', loss: 'rmi', options: { ignoreIndex: 255 }, input: { shape: [2, 3, 16, 14], ignore: ignore255 } },
  { name: 'robust-t (CPU engine for CUDA tensors)', loss: 'robust-t', options: { nuParameter: 0.3 }, input: { shape: [2, 3, 9, 9] } },
  {
    name: 'generalized-wasserstein-dice in a compound with CUDA terms',
    loss: [{ loss: 'dice', weight: 0.5 }, { loss: 'generalized-wasserstein-dice', weight: 0.5 }],
    options: {},
    input: { shape: [2, 4, 12, 10] },
  },
  {
    name: 'region losses sharing one pass',
    loss: [
      { loss: 'jaccard', weight: 0.3 },
      { loss: 'focal-tversky', weight: 0.3, options: { perImage: true } },
      { loss: 'sensitivity-specificity', weight: 0.4 },
    ],
    options: {},
    input: { shape: [2, 19, 64, 64] },
    dtypes: ['float32'],
  },
  // large: grids of many blocks, K = 19; K = 150 sizes the region engine's shared memory
  { name: 'dice, B=4 C=19 512×512', loss: 'dice', options: {}, input: { shape: large }, dtypes: ['float32'], timeout: 300_000 },
  {
    name: 'cross-entropy, B=4 C=19 512×512, weights + ignore',
    loss: 'cross-entropy',
    options: { classWeights: Array.from({ length: 19 }, (_, c) => 1 + c / 10), ignoreIndex: 255 },
    input: { shape: large, ignore: { index: 255, every: 7 } },
    dtypes: ['float32'],
    timeout: 300_000,
  },
  { name: '0.5·dice + 0.5·CE, B=4 C=19 512×512', loss: surveyObjective, options: {}, input: { shape: large }, dtypes: ['float64'], timeout: 300_000 },
  { name: 'dice monai, K=150', loss: 'dice', options: { preset: 'monai' }, input: { shape: large150 }, timeout: 120_000 },
  { name: 'cross-entropy, K=150, smoothing', loss: 'cross-entropy', options: { labelSmoothing: 0.1 }, input: { shape: large150 }, timeout: 120_000 },
];

const gradScale = 0.37;
const tolerance: Record<Dtype, number> = { float64: 1e-10, float32: 1e-5 };

describe.runIf(available)('CUDA engines vs CPU engines (upstream gradient 0.37)', () => {
  cases.forEach((c, index) => {
    for (const dtype of c.dtypes ?? (['float64', 'float32'] as const)) {
      it(`${c.name} (${dtype})`, { timeout: c.timeout ?? 60_000 }, () => {
        const input = makeInput(c.input, dtype, 1000 + index);
        const rel = tolerance[dtype];
        const options = { ...c.options, grad: true, gradScale };
        const cpu = runTorch(c.loss, input, { ...options, device: 'cpu' });
        const cuda = runTorch(c.loss, input, { ...options, device: 'cuda' });
        expect(Number.isFinite(cuda.value), 'finite CUDA value').toBe(true);
        expectClose(cuda.value, cpu.value, rel, rel * 1e-3, 'value');
        expect(cuda.grad).toBeInstanceOf(dtype === 'float64' ? Float64Array : Float32Array);
        expectArrayClose(cuda.grad!, cpu.grad!, rel, 1, 'grad');
        if (c.input.ignore?.every === 1) {
          expect(cuda.value).toBe(0);
          expect(cuda.grad!.every((g) => g === 0)).toBe(true);
        }
        const valueOnly = runTorch(c.loss, input, { ...c.options, device: 'cuda' });
        expect(valueOnly.grad).toBeUndefined();
        expectClose(valueOnly.value, cpu.value, rel, rel * 1e-3, 'value without grad');
      });
    }
  });

  it('repeated calls give the same value (float64)', () => {
    const input = makeInput({ shape: [2, 5, 40, 40] }, 'float64', 7);
    const first = runTorch(surveyObjective, input, { device: 'cuda', grad: true });
    for (let k = 0; k < 5; ++k) {
      const again = runTorch(surveyObjective, input, { device: 'cuda', grad: true });
      expectClose(again.value, first.value, 1e-13, 0, 'repeated value');
      expectArrayClose(again.grad!, first.grad!, 1e-13, 1, 'repeated grad');
    }
  });
});
