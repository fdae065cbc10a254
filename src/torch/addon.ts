/**
 * Loading the torch addon (CMakeLists.txt → build-torch/Release/segloss_torch.node) lazily: only
 * when a torch API is first used, because loading libtorch maps hundreds of shared libraries.
 * When it is missing or cannot load, every torch API throws one error with code
 * `SEGLOSS_NO_LIBTORCH` that says how to get libtorch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { ResolvedLossRequest } from '../native/resolved';
import type { CheckedFeatures } from '../standalone-losses';
import { packageRoot } from '../native/core';
import type { LogitsArray, TargetArray } from '../types';

/** `code` of the error thrown by every torch API when the torch addon is unavailable. */
export const NO_LIBTORCH = 'SEGLOSS_NO_LIBTORCH';

/** How to get libtorch and the torch addon (the same advice as scripts/find-libtorch.js). */
export const HOW_TO_GET_LIBTORCH =
  'get libtorch with `python3 -m venv .venv && .venv/bin/pip install torch` (or set LIBTORCH to a ' +
  'libtorch folder, or `apt-get install libtorch-dev`), then run `npm rebuild segloss`';

/**
 * Where the torch addon binary is expected: `$SEGLOSS_TORCH_ADDON` when set, else
 * build-torch/Release/segloss_torch.node in the package.
 */
export function torchAddonPath(): string {
  return process.env.SEGLOSS_TORCH_ADDON || path.join(packageRoot, 'build-torch', 'Release', 'segloss_torch.node');
}

/** What libtorch the torch addon runs on (native/addon/torch_addon.cpp `info()`). */
export interface TorchInfo {
  /** Version of the loaded libtorch, from its build settings (e.g. `'2.13.0'`); '' if unknown. */
  readonly torchVersion: string;
  /** TORCH_VERSION of the headers the addon was compiled against. */
  readonly builtAgainst: string;
  /** Folder of the loaded libtorch_cpu library. */
  readonly libtorchPath: string;
  /** Folder baked into the addon's RUNPATH at build time (equal to libtorchPath, checked at load). */
  readonly builtLibtorchPath: string;
  /** Whether the addon has the CUDA engines. */
  readonly cudaBuilt: boolean;
  /** Whether libtorch sees at least one CUDA device. */
  readonly cuda: boolean;
  /** Number of CUDA devices libtorch sees. */
  readonly cudaDevices: number;
  /** Their names (when cudaBuilt). */
  readonly deviceNames: readonly string[];
  /** ATen intra-op threads. */
  readonly threads: number;
  /** ATen inter-op threads. */
  readonly interopThreads: number;
}

/** The result of one torch-op evaluation. */
export interface TorchLossOutput {
  readonly value: number;
  /** [B, C, ...] d value / d logits · gradScale (the logits' type), or null without grad. */
  readonly grad: LogitsArray | null;
  /** d value / d θ · gradScale of the robust-t terms' shared θ (with grad), else absent. */
  readonly gradNuParameter?: number;
  /** conditional-boundary with grad: the gradients of its extra inputs (the logits' type). */
  readonly featuresGrad?: LogitsArray;
  readonly classifierWeightGrad?: LogitsArray;
  readonly classifierBiasGrad?: LogitsArray;
}

/** Options of the Dice + CE benchmark binding. */
export interface DiceCeBenchOptions {
  readonly shape: readonly number[]; // [B, C, H, W]
  readonly iterations?: number;
  readonly warmup?: number;
  readonly dtype?: 'float32' | 'float64';
  readonly device?: string;
  /** ATen threads during the run (0: leave as is). */
  readonly threads?: number;
  readonly seed?: number;
}

/** Timings (ms per forward + backward) of the fused op and of the ATen composition. */
export interface DiceCeBenchResult {
  readonly fusedMs: readonly number[];
  readonly atenMs: readonly number[];
  readonly fusedValue: number;
  readonly atenValue: number;
  readonly maxGradDiff: number;
  readonly threads: number;
}

/** The torch addon's exports (native/addon/torch_addon.cpp). */
export interface TorchAddon {
  info(): TorchInfo;
  /** Forward through the autograd op; with `grad`, backward with upstream gradient request.gradScale. */
  lossBackward(
    logits: LogitsArray, // [B, C, ...]
    target: TargetArray, // [B, ...]
    shape: readonly number[], // [B, C, ...]
    request: ResolvedLossRequest,
    device: string,
    grad: boolean,
    extra?: CheckedFeatures | { readonly network: Float32Array } | null, // conditional-boundary's features, inverseform's network
  ): TorchLossOutput;
  /** The same on a libuv worker thread (the arrays are copied before it returns). */
  lossBackwardAsync(
    logits: LogitsArray,
    target: TargetArray,
    shape: readonly number[],
    request: ResolvedLossRequest,
    device: string,
    grad: boolean,
    extra?: CheckedFeatures | { readonly network: Float32Array } | null,
  ): Promise<TorchLossOutput>;
  benchDiceCe(options: DiceCeBenchOptions): DiceCeBenchResult;
  /** ms per forward + backward of the fused op on any resolved objective. */
  benchObjective(options: DiceCeBenchOptions, request: ResolvedLossRequest): number[];
}

let addon: TorchAddon | undefined;
let failure: Error | undefined;

function noLibtorch(reason: string, cause?: unknown): Error {
  const error = new Error(`segloss: the torch API is unavailable: ${reason}. To use it, ${HOW_TO_GET_LIBTORCH}.`, {
    cause,
  });
  return Object.assign(error, { code: NO_LIBTORCH });
}

function loadTorchAddon(): TorchAddon {
  const file = torchAddonPath();
  if (!fs.existsSync(file)) {
    throw noLibtorch(`the torch addon was not built (no ${file}; libtorch was not found when segloss was installed)`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as TorchAddon;
  } catch (cause) {
    const message = (cause as Error).message.trim().split('\n')[0];
    throw noLibtorch(`the torch addon ${file} does not load (${message})`, cause);
  }
}

/**
 * The torch addon, loaded on first use (and the load failure remembered).
 * @throws Error with code `SEGLOSS_NO_LIBTORCH` when it is missing or does not load.
 */
export function torchAddon(): TorchAddon {
  if (addon) return addon;
  if (failure) throw failure;
  try {
    addon = loadTorchAddon();
    return addon;
  } catch (error) {
    failure = error as Error;
    throw failure;
  }
}
