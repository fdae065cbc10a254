// The torch API (src/torch): the libtorch autograd op must give the core's value, and its backward
// (with an upstream gradient ≠ 1) the core's fused gradient, for every loss and compound sums,
// in float64 and float32; the reference fixtures must pass through it too; bad input must fail
// with the very errors of computeLoss.
//
// Skipped, with the reason printed, when the torch addon is not built; SEGLOSS_REQUIRE_TORCH=1
// (CI) turns the skip into a failure.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { computeLoss } from '../src/index';
import {
  NO_CUDA,
  NO_LIBTORCH,
  computeLossTorch,
  torchAddonPath,
  computeLossTorchAsync,
  torchAvailable,
  torchInfo,
} from '../src/torch/index';
import type { LogitsArray, LossInput, LossResult, TargetArray } from '../src/types';
import { fixtureLogits, fixtureOptions, fixtureTarget, isFloat64Exact, loadFixtureFiles } from './helpers/fixtures';
import { allFinite, expectArrayClose, expectClose, labels, rng, uniform } from './helpers/numeric';

const available = torchAvailable();
const required = process.env.SEGLOSS_REQUIRE_TORCH === '1';
const skipReason = available ? '' : unavailableReason();
const cudaAvailable = available && torchInfo().cuda;

function unavailableReason(): string {
  try {
    torchInfo();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

if (!available && !required) {
  console.warn(`test/torch.test.ts skipped: ${skipReason}`);
}

describe('torch addon availability', () => {
  it.runIf(required)('is built and loads (SEGLOSS_REQUIRE_TORCH=1)', () => {
    expect(skipReason).toBe('');
    expect(available).toBe(true);
  });
  it.skipIf(available || required)(`skipped: ${skipReason}`, () => {});
});

type AnyOptions = Record<string, unknown>;
type Spec = string | readonly { loss: string; weight?: number; options?: AnyOptions }[];

function makeInput(
  shape: readonly number[],
  dtype: 'float32' | 'float64',
  targetType: 'uint8' | 'uint16' | 'int32',
  seed: number,
  ignore?: { index: number; every: number },
): LossInput {
  const random = rng(seed);
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const values = uniform(random, batch * channels * pixels, -3, 3);
  const logits: LogitsArray = dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
  const classes = channels === 1 ? 2 : channels;
  const raw = labels(random, batch * pixels, classes).map((t, i) => (ignore && i % ignore.every === 0 ? ignore.index : t));
  const TargetType = { uint8: Uint8Array, uint16: Uint16Array, int32: Int32Array }[targetType];
  const target: TargetArray = TargetType.from(raw);
  return { logits, target, shape: shape as LossInput['shape'] };
}

const runCore = computeLoss as unknown as (loss: Spec, input: LossInput, options?: AnyOptions) => LossResult;
const runTorch = computeLossTorch as unknown as (loss: Spec, input: LossInput, options?: AnyOptions) => LossResult;
const runTorchAsync = computeLossTorchAsync as unknown as (
  loss: Spec,
  input: LossInput,
  options?: AnyOptions,
) => Promise<{ value: number; grad?: LogitsArray }>;

/** [name, loss spec, options, shape, target type, ignore] */
type Case = [string, Spec, AnyOptions, readonly number[], 'uint8' | 'uint16' | 'int32', { index: number; every: number }?];

const surveyObjective = [
  { loss: 'dice', weight: 0.5 },
  { loss: 'cross-entropy', weight: 0.5 },
] as const;

const cases: Case[] = [
  ['cross-entropy', 'cross-entropy', {}, [2, 3, 5, 7], 'uint8'],
  ['cross-entropy, class weights + smoothing', 'cross-entropy', { classWeights: [0.2, 1, 3], labelSmoothing: 0.1 }, [2, 3, 4, 4], 'int32'],
  ['cross-entropy, ignoreIndex 255', 'cross-entropy', { ignoreIndex: 255 }, [2, 4, 3, 5], 'uint8', { index: 255, every: 4 }],
  ['cross-entropy, ignoreIndex -1 (int32)', 'cross-entropy', { ignoreIndex: -1 }, [1, 3, 6, 6], 'int32', { index: -1, every: 3 }],
  ['cross-entropy, C = 1 sigmoid', 'cross-entropy', {}, [2, 1, 4, 4], 'uint8'],
  ['cross-entropy, uint16 labels, 1×1 image', 'cross-entropy', {}, [3, 4, 1, 1], 'uint16'],
  ['dice', 'dice', {}, [2, 3, 5, 7], 'uint8'],
  ['dice, perImage, no background', 'dice', { perImage: true, includeBackground: false }, [3, 4, 4, 4], 'int32'],
  ['dice, squared + logLoss', 'dice', { squared: true, logLoss: true, smooth: 1 }, [2, 3, 4, 5], 'uint8'],
  ['dice, preset monai', 'dice', { preset: 'monai' }, [2, 3, 4, 4], 'uint8'],
  ['dice, preset smp, ignore', 'dice', { preset: 'smp', ignoreIndex: 255 }, [2, 4, 4, 4], 'uint8', { index: 255, every: 5 }],
  ['dice, preset nnunet, perImage', 'dice', { preset: 'nnunet', perImage: true }, [2, 3, 4, 4], 'uint16'],
  ['dice, C = 1 sigmoid', 'dice', { includeBackground: false }, [2, 1, 5, 5], 'uint8'],
  ['dice, volume [B, C, D, H, W]', 'dice', { perImage: true }, [2, 3, 3, 4, 5], 'uint8'],
  ['topk, k 20, ignore', 'topk', { k: 20, ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 4 }],
  ['topk, preset nnunet, volume', 'topk', { preset: 'nnunet' }, [2, 3, 2, 4, 5], 'int32'],
  ['lovasz-softmax, ignore', 'lovasz-softmax', { ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 4 }],
  ['lovasz-softmax, all classes, perImage, volume', 'lovasz-softmax', { classes: 'all', perImage: true }, [2, 3, 2, 4, 5], 'int32'],
  ['combo, α 0.7 β 0.3, ignore', 'combo', { alpha: 0.7, beta: 0.3, ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 4 }],
  ['combo, perImage, volume', 'combo', { perImage: true }, [2, 3, 2, 4, 5], 'int32'],
  ['exp-log, γ 0.5, ignore', 'exp-log', { gamma: 0.5, ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 4 }],
  ['exp-log, preset odyssey, volume', 'exp-log', { preset: 'odyssey' }, [2, 3, 2, 4, 5], 'int32'],
  ['unified-focal, ignore', 'unified-focal', { ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 4 }],
  ['unified-focal, preset monai, volume', 'unified-focal', { preset: 'monai' }, [2, 3, 2, 4, 5], 'int32'],
  ['focal, γ 0.5 α, ignore', 'focal', { gamma: 0.5, alpha: [0.25, 1, 2], ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 4 }],
  ['focal, preset monai, volume', 'focal', { preset: 'monai' }, [2, 3, 2, 4, 5], 'int32'],
  ['focal, preset smp α 0.25, ignore', 'focal', { preset: 'smp', alpha: 0.25, ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 4 }],
  ['focal, preset smp γ 0.5, volume', 'focal', { preset: 'smp', gamma: 0.5 }, [2, 4, 2, 3, 5], 'int32'],
  ['log-cosh-dice, perImage', 'log-cosh-dice', { perImage: true }, [2, 3, 4, 5], 'uint8'],
  ['jaccard, preset monai, ignore', 'jaccard', { preset: 'monai', ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 5 }],
  ['tversky, α 0.8 β 0.2', 'tversky', { alpha: 0.8, beta: 0.2 }, [2, 4, 4, 3], 'int32'],
  ['focal-tversky, volume [B, C, D, H, W]', 'focal-tversky', {}, [2, 3, 2, 4, 5], 'uint8'],
  ['focal-tversky, preset odyssey', 'focal-tversky', { preset: 'odyssey' }, [2, 3, 4, 4], 'uint16'],
  ['sensitivity-specificity, ignore', 'sensitivity-specificity', { ignoreIndex: 255 }, [2, 3, 4, 5], 'uint8', { index: 255, every: 4 }],
  ['sensitivity-specificity, preset odyssey, C = 1 sigmoid', 'sensitivity-specificity', { preset: 'odyssey' }, [2, 1, 5, 5], 'uint8'],
  ['generalized-wasserstein-dice, gdl, distance matrix, ignore', 'generalized-wasserstein-dice',
    { weighting: 'gdl', distanceMatrix: [[0, 1, 0.5], [1, 0, 0.8], [0.5, 0.8, 0]], ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 4 }],
  ['generalized-wasserstein-dice, volume [B, C, D, H, W]', 'generalized-wasserstein-dice', {}, [2, 3, 2, 4, 5], 'int32'],
  ['robust-t, θ 0.3, ignore', 'robust-t', { nuParameter: 0.3, ignoreIndex: 255 }, [2, 3, 5, 4], 'uint8', { index: 255, every: 4 }],
  ['robust-t, C = 1 sigmoid, volume', 'robust-t', {}, [2, 1, 2, 4, 5], 'uint8'],
  ['rmi, ignore', 'rmi', { ignoreIndex: 255 }, [2, 3, 8, 9], 'uint8', { index: 255, every: 4 }],
  ['rmi, max pool 3/3, volume (per slice)', 'rmi', { poolMode: 'max', poolSize: 3, poolStride: 3 }, [2, 2, 2, 9, 10], 'int32'],
  ['0.5·dice + 0.5·cross-entropy', surveyObjective, {}, [2, 3, 6, 5], 'uint8'],
  ['compound with ignore and term options', [
    { loss: 'dice', weight: 0.7, options: { perImage: true } },
    { loss: 'cross-entropy', weight: 0.3, options: { labelSmoothing: 0.05 } },
  ], { ignoreIndex: 255 }, [2, 3, 4, 4], 'uint8', { index: 255, every: 6 }],
];

describe.runIf(available)('torch op vs the core engines (upstream gradient 0.37)', () => {
  const gradScale = 0.37;
  for (const dtype of ['float64', 'float32'] as const) {
    // float64: the same engine and the same double sums (only the order of the final product
    // differs); float32: the value is rounded to float32 by the 0-dim tensor.
    const rel = dtype === 'float64' ? 1e-12 : 2e-6;
    it.each(cases.map((c, i) => [c[0], c, i] as const))(`%s (${dtype})`, (_name, c, i) => {
      const [, spec, options, shape, targetType, ignore] = c;
      const input = makeInput(shape, dtype, targetType, 100 + i, ignore);
      const core = runCore(spec, input, { ...options, grad: true, gradScale });
      const torch = runTorch(spec, input, { ...options, grad: true, gradScale, device: 'cpu' });
      expectClose(torch.value, core.value, rel, 1e-300, 'value');
      expect(torch.grad).toBeInstanceOf(dtype === 'float64' ? Float64Array : Float32Array);
      expectArrayClose(torch.grad!, core.grad!, rel, 1e-3);
      // robust-t: θ is the op's learned tensor input; its autograd gradient is the core's gradNuParameter
      // (float32: the upstream gradient is the float32 value's dtype).
      expect(torch.gradNuParameter === undefined).toBe(core.gradNuParameter === undefined);
      if (core.gradNuParameter !== undefined) expectClose(torch.gradNuParameter!, core.gradNuParameter, rel, 1e-300, 'gradNuParameter');
      const valueOnly = runTorch(spec, input, options);
      expect(valueOnly.grad).toBeUndefined();
      expectClose(valueOnly.value, core.value, rel, 1e-300, 'value without grad');
    });
  }

  it('backward scales linearly with the upstream gradient', () => {
    const input = makeInput([2, 3, 4, 4], 'float64', 'uint8', 7);
    const one = runTorch(surveyObjective, input, { grad: true });
    const scaled = runTorch(surveyObjective, input, { grad: true, gradScale: -2.5 });
    expectArrayClose(scaled.grad!, Array.from(one.grad!, (g) => -2.5 * g), 1e-14, 1e-3);
  });

  it('the async variant gives the same result', async () => {
    const input = makeInput([2, 3, 5, 5], 'float32', 'uint8', 8);
    const sync = runTorch(surveyObjective, input, { grad: true, gradScale: 3 });
    const async = await runTorchAsync(surveyObjective, input, { grad: true, gradScale: 3 });
    expect(async.value).toBe(sync.value);
    expect(Array.from(async.grad!)).toEqual(Array.from(sync.grad!));
  });

  it('all pixels ignored: value 0, gradient 0', () => {
    const input = makeInput([2, 3, 3, 3], 'float64', 'uint8', 9, { index: 255, every: 1 });
    for (const spec of ['cross-entropy', 'dice', surveyObjective] as Spec[]) {
      const r = runTorch(spec, input, { ignoreIndex: 255, grad: true, gradScale: 2 });
      expect(r.value).toBe(0);
      expect(r.grad!.every((g) => g === 0)).toBe(true);
    }
  });

  it('logits of ±1e4 give a finite value and gradient', () => {
    const input = makeInput([2, 3, 4, 4], 'float32', 'uint8', 10);
    const logits = input.logits.map((v) => (v > 0 ? 1e4 : -1e4)) as LogitsArray;
    const r = runTorch(surveyObjective, { ...input, logits }, { grad: true });
    expect(Number.isFinite(r.value)).toBe(true);
    expect(allFinite(r.grad!)).toBe(true);
  });
});

describe.runIf(available)('reference fixtures through the torch op', () => {
  for (const file of loadFixtureFiles()) {
    it(`${file.file}: every case`, () => {
      expect(file.cases.length).toBeGreaterThan(0);
      for (const c of file.cases) {
        const rel = isFloat64Exact(c) ? 1e-10 : 1e-5;
        const input = { logits: fixtureLogits(c), target: fixtureTarget(c), shape: c.shape };
        const r = runTorch(c.loss, input, { ...fixtureOptions(c), grad: true });
        expectClose(r.value, c.value, rel, rel * 1e-2, `${c.name} value`);
        expectArrayClose(r.grad!, c.grad, rel, 1, `${c.name} grad`);
      }
    });
  }
});

describe.runIf(available)('torch API errors', () => {
  const input = makeInput([2, 3, 2, 2], 'float32', 'uint8', 11);

  /** The error `f` throws (or rejects with), as [name, code, message]. */
  function thrown(f: () => unknown): [string, unknown, string] {
    try {
      f();
    } catch (error) {
      const e = error as Error & { code?: unknown };
      return [e.name, e.code, e.message];
    }
    throw new Error('expected an error');
  }

  const bad: [string, unknown[]][] = [
    ['unknown loss id', ['dise', input]],
    ['compound with an unknown term key', [[{ loss: 'dice', wieght: 1 }], input]],
    ['input not an object', ['dice', 5]],
    ['logits Int32Array', ['dice', { ...input, logits: new Int32Array(24) }]],
    ['target Float32Array', ['dice', { ...input, target: new Float32Array(8) }]],
    ['logits length ≠ shape', ['dice', { ...input, logits: new Float32Array(23) }]],
    ['shape with 0', ['dice', { ...input, shape: [2, 0, 2, 2] }]],
    ['label outside [0, C)', ['dice', { ...input, target: Uint8Array.from([0, 1, 2, 3, 0, 1, 2, 0]) }]],
    ['label 255 without ignoreIndex', ['cross-entropy', { ...input, target: new Uint8Array(8).fill(255) }]],
    ['NaN logit', ['dice', { ...input, logits: new Float32Array(24).fill(Number.NaN) }]],
    ['option of the wrong type', ['dice', input, { perImage: 'yes' }]],
    ['classWeights of the wrong length', ['cross-entropy', input, { classWeights: [1, 2] }]],
    ['labelSmoothing > 1', ['cross-entropy', input, { labelSmoothing: 2 }]],
    ['softmax with C = 1', ['dice', { ...input, logits: new Float32Array(8), shape: [2, 1, 2, 2] }, { activation: 'softmax' }]],
  ];

  it.each(bad)('%s: the same error as computeLoss', (_name, args) => {
    const core = thrown(() => (computeLoss as (...a: unknown[]) => unknown)(...args));
    expect(core[1]).toBe('SEGLOSS_INVALID_ARGUMENT');
    expect(thrown(() => (computeLossTorch as (...a: unknown[]) => unknown)(...args))).toEqual(core);
  });

  it.each(bad)('%s: the async variant rejects with it', async (_name, args) => {
    const core = thrown(() => (computeLoss as (...a: unknown[]) => unknown)(...args));
    const error = await (computeLossTorchAsync as (...a: unknown[]) => Promise<unknown>)(...args).then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: Error & { code?: unknown }) => [e.name, e.code, e.message],
    );
    expect(error).toEqual(core);
  });

  it('an unknown option lists the torch option names (device; async: and signal)', async () => {
    const names = 'activation, device, grad, gradScale, ignoreIndex, includeBackground, logLoss, perImage, preset, smooth, squared';
    expect(thrown(() => runTorch('dice', input, { smoth: 1 }))).toEqual([
      'RangeError',
      'SEGLOSS_INVALID_ARGUMENT',
      `Expected one of ${names} for an option name of dice but received 'smoth'`,
    ]);
    await expect(runTorchAsync('dice', input, { smoth: 1 })).rejects.toThrow(
      `Expected one of ${names.replace('preset, ', 'preset, signal, ')} for an option name of dice but received 'smoth'`,
    );
  });

  it('device must be cpu, cuda or cuda:<index>', () => {
    expect(thrown(() => runTorch('dice', input, { device: 'tpu' }))).toEqual([
      'RangeError',
      'SEGLOSS_INVALID_ARGUMENT',
      "Expected 'cpu', 'cuda' or 'cuda:<index>' for device but received 'tpu'",
    ]);
    expect(thrown(() => runTorch('dice', input, { device: 0 }))).toEqual([
      'TypeError',
      'SEGLOSS_INVALID_ARGUMENT',
      "Expected 'cpu', 'cuda' or 'cuda:<index>' for device but received 0",
    ]);
    expect(thrown(() => runTorch('dice', input, { device: 'cpu:1' }))[0]).toBe('RangeError');
  });

  it.runIf(!cudaAvailable)('device cuda without CUDA engines or devices: SEGLOSS_NO_CUDA', () => {
    const [name, code, message] = thrown(() => runTorch('dice', input, { device: 'cuda' }));
    expect([name, code]).toEqual(['Error', NO_CUDA]);
    expect(message).toMatch(/^segloss: device 'cuda' is unavailable: /);
  });
});

describe.runIf(available)('torchInfo', () => {
  it('reports the libtorch that was loaded, which is the one built against', () => {
    const info = torchInfo();
    expect(info.builtAgainst).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.torchVersion.split('.').slice(0, 2)).toEqual(info.builtAgainst.split('.').slice(0, 2));
    expect(info.libtorchPath).toBe(info.builtLibtorchPath);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.cudaDevices).toBe(info.deviceNames.length > 0 ? info.deviceNames.length : info.cudaDevices);
  });
});

describe.runIf(available)('two libtorch installs in one process', () => {
  it('loading fails with SEGLOSS_LIBTORCH_MISMATCH when c10 comes from another folder', () => {
    const info = torchInfo();
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-c10-'));
    try {
      // Every name the loader may look for: libc10.so (wheels) or its SONAME, e.g. libc10.so.1.13 (Debian).
      for (const name of fs.readdirSync(info.builtLibtorchPath).filter((f) => /^libc10\.so(\.|$)/.test(f))) {
        fs.copyFileSync(path.join(info.builtLibtorchPath, name), path.join(other, name));
      }
      const script = `try { require(${JSON.stringify(torchAddonPath())}); console.log('loaded'); } ` +
        'catch (e) { console.log(JSON.stringify([e.code, e.message])); }';
      const run = spawnSync(process.execPath, ['-e', script], {
        encoding: 'utf8',
        env: { ...process.env, LD_LIBRARY_PATH: other },
      });
      const [code, message] = JSON.parse(run.stdout) as [string, string];
      expect(code).toBe('SEGLOSS_LIBTORCH_MISMATCH');
      expect(message).toBe(
        `segloss: the torch addon was built against libtorch ${info.builtAgainst} in ${info.builtLibtorchPath}, ` +
          `but it loaded libtorch from ${info.libtorchPath} and c10 from ${fs.realpathSync(other)}. Rebuild it ` +
          'against the libtorch you use (`npm rebuild segloss` or `npm run build:torch`) and do not point ' +
          'LD_LIBRARY_PATH at another libtorch.',
      );
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('without the torch addon', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('every torch API throws SEGLOSS_NO_LIBTORCH saying how to get libtorch', async () => {
    vi.stubEnv('SEGLOSS_TORCH_ADDON', '/nonexistent/segloss_torch.node');
    vi.resetModules();
    const torch = await import('../src/torch/index');
    expect(torch.torchAvailable()).toBe(false);
    const input = makeInput([1, 2, 2, 2], 'float32', 'uint8', 12);
    const calls: (() => unknown)[] = [() => torch.torchInfo(), () => torch.computeLossTorch('dice', input)];
    for (const call of calls) {
      let error: (Error & { code?: string }) | undefined;
      try {
        call();
      } catch (e) {
        error = e as Error & { code?: string };
      }
      expect(error?.code).toBe(NO_LIBTORCH);
      expect(error?.message).toBe(
        'segloss: the torch API is unavailable: the torch addon was not built (no /nonexistent/segloss_torch.node; ' +
          'libtorch was not found when segloss was installed). To use it, get libtorch with ' +
          '`python3 -m venv .venv && .venv/bin/pip install torch` (or set LIBTORCH to a libtorch folder, or ' +
          '`apt-get install libtorch-dev`), then run `npm rebuild segloss`.',
      );
    }
    await expect(torch.computeLossTorchAsync('dice', input)).rejects.toMatchObject({ code: NO_LIBTORCH });
  });
});
