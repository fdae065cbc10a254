/**
 * The trainer's native binding (native/addon/trainer_addon.cpp, class `NativeTrainer` of the torch
 * addon) and the resolved, flat values that cross into it. TypeScript has validated every value;
 * the native side only checks invariants.
 */
import type { ResolvedLossRequest, ResolvedLossTerm } from '../native/resolved';
import { torchAddon } from '../torch/addon';
import type { TargetArray } from '../types';

/** The resolved model options (native/torch/models/unet.h UNetOptions). */
export interface ResolvedUNetOptions {
  readonly name: 'unet';
  readonly inChannels: number;
  readonly numClasses: number;
  readonly baseChannels: number;
  readonly bilinear: boolean;
}

/** The resolved TransUNet options (native/torch/models/transunet.h TransUNetOptions; the preset expanded). */
export interface ResolvedTransUNetOptions {
  readonly name: 'transunet';
  readonly inChannels: number;
  readonly numClasses: number;
  readonly imageSize: number;
  readonly vitPreset: 'b16' | 's16' | 'ti16';
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly mlp: number;
  readonly dropout: number;
}

export type ResolvedModelOptions = ResolvedUNetOptions | ResolvedTransUNetOptions;

/** native/torch/trainer/optimizer.h SgdOptions / AdamWOptions. */
export type ResolvedOptimizerOptions =
  | { readonly name: 'sgd'; readonly lr: number; readonly momentum: number; readonly weightDecay: number; readonly nesterov: boolean }
  | {
      readonly name: 'adamw';
      readonly lr: number;
      readonly beta1: number;
      readonly beta2: number;
      readonly eps: number;
      readonly weightDecay: number;
    };

/** native/torch/trainer/optimizer.h ScheduleOptions (totalSteps 0: epochs × steps per epoch of each fit). */
export interface ResolvedSchedule {
  readonly name: 'poly' | 'constant';
  readonly power: number;
  readonly totalSteps: number;
}

/**
 * The objective's term of a loss with its own entry point (native/torch/trainer/objective.h
 * StandaloneTerm): its resolved term, its index among the objective's terms, and inverseform's
 * network parameters (null for the other losses).
 */
export interface NativeStandaloneTerm {
  readonly position: number;
  readonly term: ResolvedLossTerm;
  readonly network: Float32Array | null;
}

/** What `create` reads (trainer_addon.cpp readConfig). */
export interface NativeTrainerConfig {
  readonly model: ResolvedModelOptions;
  /** The engine terms (on the segmentation logits); no terms only beside a standalone term. */
  readonly objective: ResolvedLossRequest;
  readonly standalone: NativeStandaloneTerm | null;
  readonly optimizer: ResolvedOptimizerOptions;
  readonly schedule: ResolvedSchedule;
  readonly device: string;
  readonly seed: number;
  readonly precision: 'float32' | 'bfloat16';
  readonly channelsLast: boolean;
  /** Each job's ATen intra-op and CPU-engine threads; 0: libtorch's default. Not recorded. */
  readonly threads: number;
  /** JSON-like; stored verbatim as the checkpoint's `config` and returned by `open`. */
  readonly record: object;
}

/** A checked data set: images [N, Cin, H, W], labels [N, H, W]. */
export interface NativeData {
  readonly images: Float32Array;
  readonly masks: TargetArray;
  readonly shape: readonly [number, number, number, number];
  /** Images per case (volume), Σ = N; evaluation and validation only. */
  readonly cases?: readonly number[];
}

export interface NativeFitOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly evalBatchSize: number;
  /** Validation metrics include HD95. */
  readonly evalHd95: boolean;
  readonly augment: 'none' | 'rot-flip-rotate' | 'scale-crop-flip';
  readonly nonFinite: 'stop' | 'skip';
  readonly checkpoint: { readonly path: string; readonly everySteps: number; readonly everyEpochs: number } | null;
}

/** The native evaluation result (metrics.h Evaluation). */
export interface NativeEvaluation {
  readonly meanDice: number;
  readonly perClassDice: number[];
  readonly meanIoU: number;
  readonly perClassIoU: number[];
  readonly loss: number;
  readonly images: number;
  readonly cases: number;
  /** With hd95: the mean over the foreground classes of perClassHd95. */
  readonly hd95?: number;
  /** With hd95: [K] per class, the mean over cases (NaN for class 0). */
  readonly perClassHd95?: number[];
}

export type NativeEvent =
  | {
      readonly type: 'step';
      readonly epoch: number;
      readonly step: number;
      readonly loss: number;
      readonly terms: number[];
      readonly lr: number;
      readonly imagesPerSecond: number;
      readonly skipped?: boolean;
      readonly nuParameter?: number;
    }
  | { readonly type: 'epoch'; readonly epoch: number; readonly loss: number; readonly metrics: NativeEvaluation | null }
  | { readonly type: 'checkpoint'; readonly path: string };

export interface NativeFitSummary {
  readonly epoch: number;
  readonly step: number;
  readonly loss: number;
  readonly aborted: boolean;
}

/** One native trainer; one job at a time (the TypeScript Trainer queues them). */
export interface NativeTrainer {
  create(config: NativeTrainerConfig): Promise<{ parameterCount: number; threads: number }>;
  open(path: string): Promise<{ config: unknown }>;
  restore(): Promise<{ epoch: number; step: number }>;
  fit(
    train: NativeData,
    validation: NativeData | null,
    options: NativeFitOptions,
    onEvent: (event: NativeEvent) => void,
  ): Promise<NativeFitSummary>;
  evaluate(data: NativeData, batchSize: number, hd95: boolean): Promise<NativeEvaluation>;
  predict(images: Float32Array, shape: readonly number[], batchSize: number, logits: false): Promise<Uint8Array | Uint16Array>;
  predict(images: Float32Array, shape: readonly number[], batchSize: number, logits: true): Promise<Float32Array>;
  save(path: string): Promise<void>;
  loadWeights(path: string): Promise<void>;
  loadViTWeights(path: string): Promise<void>;
  abort(): void;
  /** Aborts and waits (blocking) for the trainer's thread to end: for process 'exit'. */
  stop(): void;
  dispose(): void;
}

/** What the CPU block cache of `fit` holds (native/torch/trainer/cpu_block_cache.h). */
export interface CpuBlockCacheInfo {
  /** Freed CPU tensor blocks kept for reuse (0 outside `fit`: given back when it ends). */
  readonly idleBlocks: number;
  readonly idleBytes: number;
  /** Allocations served from kept blocks since the process started. */
  readonly reused: number;
}

interface TrainerAddon {
  NativeTrainer: new () => NativeTrainer;
  cpuBlockCacheInfo(): CpuBlockCacheInfo;
}

/**
 * A new native trainer (loading the torch addon on first use).
 * @throws Error with code `SEGLOSS_NO_LIBTORCH` when the torch addon is unavailable.
 */
export function newNativeTrainer(): NativeTrainer {
  const addon = torchAddon() as unknown as TrainerAddon;
  return new addon.NativeTrainer();
}

/** The CPU block cache's counters (diagnostics and tests; loads the torch addon). */
export function cpuBlockCacheInfo(): CpuBlockCacheInfo {
  return (torchAddon() as unknown as TrainerAddon).cpuBlockCacheInfo();
}
