/**
 * Loading the core addon (binding.gyp) with node-gyp-build from the package root, so a local
 * build (build/Release) wins over a prebuild (prebuilds/<platform>-<arch>/). Loaded lazily, on
 * the first loss call.
 */
import * as path from 'node:path';

import type { ResolvedLossRequest, ResolvedLossTerm } from './resolved';
import type { LogitsArray, TargetArray } from '../types';

/** The core addon's exports (native/addon/core_addon.cpp). */
export interface CoreAddon {
  /** Value of the request; writes d value / d logits · gradScale into `grad` when given. */
  computeLoss(
    logits: LogitsArray, // [B, C, N]
    target: TargetArray, // [B, N]
    dims: readonly number[], // [B, C, H, W] or [B, C, D, H, W] (or [B, C, N]: no spatial shape)
    request: ResolvedLossRequest,
    grad: LogitsArray | null, // [B, C, N], the logits' type
    stateGrad?: Float64Array | null, // [1] d value / d learned state (robust-t's θ) · gradScale; needs grad
  ): number;
  /** The same on a libuv worker thread; copies logits and target first, writes `grad` on the worker. */
  computeLossAsync(
    logits: LogitsArray,
    target: TargetArray,
    dims: readonly number[],
    request: ResolvedLossRequest,
    grad: LogitsArray | null,
    stateGrad?: Float64Array | null,
  ): Promise<number>;
  /** boundary-aware (native/core/standalone/boundary_aware.h): value; writes grad · gradScale when given. */
  computeBoundaryAware(
    logits: LogitsArray, // [B, C·K, ...spatial]
    target: TargetArray, // [B, ...spatial]
    shape: readonly number[], // [B, C·K, H, W] or [B, C·K, D, H, W]
    term: ResolvedLossTerm,
    gradScale: number,
    grad: LogitsArray | null,
  ): number;
  /** The same on a libuv worker thread (inputs copied at the call, grad staged). */
  computeBoundaryAwareAsync(
    logits: LogitsArray,
    target: TargetArray,
    shape: readonly number[],
    term: ResolvedLossTerm,
    gradScale: number,
    grad: LogitsArray | null,
  ): Promise<number>;
  /** The label map [B, ...spatial] of boundary-aware bin logits. */
  decodeBoundaryAware(logits: LogitsArray, shape: readonly number[], term: ResolvedLossTerm): Int32Array;
  /** conditional-boundary (native/core/standalone/conditional_boundary.h): value; writes the grads given. */
  computeConditionalBoundary(
    logits: LogitsArray, // [B, C, H, W]
    target: TargetArray, // [B, H, W]
    shape: readonly number[],
    term: ResolvedLossTerm,
    gradScale: number,
    grad: LogitsArray | null, // [B, C, H, W], written with zeros
    extra: ConditionalBoundaryExtra,
  ): number;
  /** The same on a libuv worker thread (inputs copied at the call, outputs staged). */
  computeConditionalBoundaryAsync(
    logits: LogitsArray,
    target: TargetArray,
    shape: readonly number[],
    term: ResolvedLossTerm,
    gradScale: number,
    grad: LogitsArray | null,
    extra: ConditionalBoundaryExtra,
  ): Promise<number>;
  /** inverseform (native/core/standalone/inverse_form.h): value; writes grad · gradScale when given. */
  computeInverseForm(
    logits: LogitsArray, // [B, C + 1, H, W]
    target: TargetArray, // [B, H, W]
    shape: readonly number[],
    term: ResolvedLossTerm,
    gradScale: number,
    grad: LogitsArray | null,
    network: Float32Array, // the network's parameters
  ): number;
  /** The same on a libuv worker thread (inputs copied at the call, grad staged). */
  computeInverseFormAsync(
    logits: LogitsArray,
    target: TargetArray,
    shape: readonly number[],
    term: ResolvedLossTerm,
    gradScale: number,
    grad: LogitsArray | null,
    network: Float32Array,
  ): Promise<number>;
  /** Trains the inverse-transformation network (a libuv worker thread). */
  trainInverseForm(
    masks: Uint8Array, // [count, H, W]
    dims: readonly [number, number, number],
    options: Record<string, number>,
    onProgress: ((step: number, loss: number) => void) | null,
  ): Promise<Float32Array & { readonly meanError: number; readonly meanTarget: number }>;
  /** The network's parameter count. */
  readonly inverseFormParameterCount: number;
  /** How the addon was built. */
  buildInfo(): { napiVersion: number; compiler: string; cxxStandard: number };
  /** The CPU kernels in use; throws when SEGLOSS_CPU_ISA names an unsupported instruction set. */
  cpuEngineInfo(): CpuEngineInfo;
  /** The target-map cache of the boundary losses (native/core/target_maps.h); `clear` empties it first. */
  targetMapCacheInfo(clear?: boolean): TargetMapCacheInfo;
}

/** The cache of distance maps that depend on the target only (docs/engine.md "Target maps"). */
export interface TargetMapCacheInfo {
  /** Image lookups answered from the cache. */
  readonly hits: number;
  /** Image lookups that computed the maps. */
  readonly misses: number;
  /** Images held now. */
  readonly entries: number;
  /** Bytes they hold (labels and maps). */
  readonly bytes: number;
  /** The budget (SEGLOSS_TARGET_MAP_CACHE_MB, default 1024 MiB). */
  readonly capacityBytes: number;
}

/** conditional-boundary's extra arrays (all of the logits' type; the grads are written when given). */
export interface ConditionalBoundaryExtra {
  readonly features: LogitsArray; // [B, D, H, W]
  readonly featureChannels: number; // D
  readonly classifierWeight: LogitsArray; // [C, D]
  readonly classifierBias: LogitsArray | null; // [C]
  readonly featuresGrad: LogitsArray | null;
  readonly classifierWeightGrad: LogitsArray | null;
  readonly classifierBiasGrad: LogitsArray | null;
}

/** The CPU engine's instruction set and threads (see {@link cpuEngineInfo}). */
export interface CpuEngineInfo {
  /** The build of the CPU kernels in use: the best the processor runs, or SEGLOSS_CPU_ISA's. */
  readonly active: 'sse2' | 'avx2' | 'avx512';
  /** The instruction sets this processor can run, in increasing order. */
  readonly supported: readonly ('sse2' | 'avx2' | 'avx512')[];
  /** Threads of the CPU engine (SEGLOSS_NUM_THREADS, default all cores). */
  readonly threads: number;
}

/**
 * The CPU engine's kernels and threads. The core addon carries its kernels built for SSE2, AVX2
 * and AVX-512 and runs the best the processor supports; `SEGLOSS_CPU_ISA=sse2|avx2|avx512`
 * (read once per process) forces one.
 *
 * @throws RangeError (code `'SEGLOSS_NATIVE'`) when SEGLOSS_CPU_ISA names an instruction set that
 *   is unknown or that this processor does not support.
 * @example
 * ```ts
 * import { cpuEngineInfo } from 'segloss';
 * cpuEngineInfo(); // { active: 'avx2', supported: ['sse2', 'avx2'], threads: 8 }
 * ```
 */
export function cpuEngineInfo(): CpuEngineInfo {
  return coreAddon().cpuEngineInfo();
}

interface NodeGypBuild {
  (dir: string): unknown;
  resolve(dir: string): string;
}

// node-gyp-build ships no types; this is its documented interface.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;

/** The package root (lib/native/ and src/native/ are both two levels below it). */
export const packageRoot: string = path.resolve(__dirname, '..', '..');

/** `code` of the error thrown when no core addon binary can be found or loaded. */
export const CORE_ADDON_MISSING = 'SEGLOSS_CORE_ADDON_MISSING';

let addon: CoreAddon | undefined;

/** The core addon, loaded on first use. Throws (code SEGLOSS_CORE_ADDON_MISSING) when absent. */
export function coreAddon(): CoreAddon {
  if (!addon) addon = loadCoreAddon();
  return addon;
}

function loadCoreAddon(): CoreAddon {
  try {
    return nodeGypBuild(packageRoot) as CoreAddon;
  } catch (cause) {
    const error = new Error(
      `segloss: the core addon could not be loaded from ${packageRoot} (${(cause as Error).message.trim()}). ` +
        'Reinstall segloss, or build it with `npm run build:core` (needs a C++20 compiler).',
      { cause },
    );
    throw Object.assign(error, { code: CORE_ADDON_MISSING });
  }
}

/** Where the core addon binary is, and whether it is a prebuild or a local build. */
export interface CoreAddonLocation {
  /** Absolute path of the .node file node-gyp-build picks. */
  readonly path: string;
  /** `'prebuild'` (prebuilds/, shipped in the package) or `'local-build'` (build/Release or build/Debug). */
  readonly origin: 'prebuild' | 'local-build';
}

/**
 * The core addon binary node-gyp-build loads (or would load) from the package root: a local
 * build (build/Release) wins over a prebuild (prebuilds/<platform>-<arch>/), as node-gyp-build
 * decides. Used by `segloss doctor`.
 *
 * @throws Error with code 'SEGLOSS_CORE_ADDON_MISSING' when there is no binary for this platform.
 * @example
 * ```ts
 * coreAddonLocation(); // { path: '…/node_modules/segloss/prebuilds/linux-x64/segloss.node', origin: 'prebuild' }
 * ```
 */
export function coreAddonLocation(): CoreAddonLocation {
  let file: string;
  try {
    file = nodeGypBuild.resolve(packageRoot);
  } catch (cause) {
    const error = new Error(`segloss: no core addon binary under ${packageRoot}`, { cause });
    throw Object.assign(error, { code: CORE_ADDON_MISSING });
  }
  const relative = path.relative(packageRoot, file).split(path.sep);
  return { path: file, origin: relative[0] === 'prebuilds' ? 'prebuild' : 'local-build' };
}

/** The path of the core addon binary (see {@link coreAddonLocation}). */
export function coreAddonPath(): string {
  return coreAddonLocation().path;
}
