/**
 * Public types of the loss API: inputs, results and the common options (each loss's own options
 * are declared in its file in src/losses and re-exported here). Each option's
 * default is stated here for the reader; the value used is written once, in the loss's option
 * table (src/losses/*.ts).
 */

/** Logits (or probabilities with `activation: 'none'`): [B, C, H, W] or [B, C, D, H, W], NCHW. */
export type LogitsArray = Float32Array | Float64Array;

/** Class indices: [B, H, W] or [B, D, H, W]. */
export type TargetArray = Uint8Array | Uint16Array | Int32Array;

/** `[B, C, H, W]` for images, `[B, C, D, H, W]` for volumes. */
export type LossShape = readonly [number, number, number, number] | readonly [number, number, number, number, number];

/**
 * The tensors of one loss evaluation.
 *
 * @typeParam T - the logits' array type; the gradient has the same type.
 */
export interface LossInput<T extends LogitsArray = LogitsArray> {
  /** [B, C, H, W] (or [B, C, D, H, W]) logits, contiguous NCHW; finite. */
  readonly logits: T;
  /** [B, H, W] (or [B, D, H, W]) labels in [0, K) or the ignore index; K = C, or 2 when C = 1. */
  readonly target: TargetArray;
  /** `[B, C, H, W]` or `[B, C, D, H, W]`, every entry a positive integer. */
  readonly shape: LossShape;
  /** `conditional-boundary` only: [B, D, H, W] decoder features, the logits' array type. */
  readonly features?: T;
  /** `conditional-boundary` only: the features' shape [B, D, H, W] (B, H, W those of the logits). */
  readonly featureShape?: readonly [number, number, number, number];
  /** `conditional-boundary` only: [C, D] the 1×1 classifier's weight, the logits' array type. */
  readonly classifierWeight?: T;
  /** `conditional-boundary` only: [C] the classifier's bias (default 0), the logits' array type. */
  readonly classifierBias?: T;
}

/** The value of a loss and, when `grad: true` was asked for, its gradient. */
export interface LossResult<T extends LogitsArray = LogitsArray> {
  /** The loss value (a weighted sum for a compound loss). */
  readonly value: number;
  /** [B, C, H, W] d value / d logits · gradScale, same type and length as the logits. */
  readonly grad?: T;
  /**
   * d value / d θ · gradScale for `robust-t`'s learned `nuParameter` θ (with `grad: true`, when the
   * loss is robust-t or a compound with robust-t terms: Σ over those terms of weight · d term / d θ,
   * the gradient of one θ shared by them).
   */
  readonly gradNuParameter?: number;
  /** `conditional-boundary` with `grad: true`: [B, D, H, W] d value / d features · gradScale. */
  readonly featuresGrad?: T;
  /** `conditional-boundary` with `grad: true`: [C, D] d value / d classifierWeight · gradScale. */
  readonly classifierWeightGrad?: T;
  /** `conditional-boundary` with `grad: true`: [C] d value / d classifierBias · gradScale. */
  readonly classifierBiasGrad?: T;
}

/** A loss result that holds its gradient (returned when `grad: true`). */
export interface LossResultWithGrad<T extends LogitsArray = LogitsArray> extends LossResult<T> {
  readonly grad: T;
}

/**
 * How logits become class probabilities.
 * - `'softmax'`: softmax over C (the default when C ≥ 2; not allowed when C = 1).
 * - `'sigmoid'`: σ per channel (the default when C = 1: σ(z) is the foreground, 1 − σ(z) the background).
 * - `'none'`: the caller passes probabilities (C = 1: the foreground probability). They are not
 *   checked to lie in [0, 1]; logarithms and divisions use max(p, 1e-30) (float32) / max(p, 1e-300).
 */
export type Activation = 'softmax' | 'sigmoid' | 'none';

/** Options shared by every loss (and by a compound loss, at its top level). */
export interface CommonLossOptions {
  /** Default: `'softmax'` when C ≥ 2, `'sigmoid'` when C = 1. */
  readonly activation?: Activation;
  /** Pixels with this label contribute nothing (value or gradient). Any integer. Default: none. */
  readonly ignoreIndex?: number;
  /** Return d value / d logits. Default `false`. */
  readonly grad?: boolean;
  /** Upstream gradient: the returned gradient is multiplied by it. Finite. Default `1`. */
  readonly gradScale?: number;
}

/** Options of `computeLoss` / `computeLossAsync` about where results go. */
export interface OutputOptions<T extends LogitsArray = LogitsArray> {
  /**
   * Where to write the gradient instead of a new array: the logits' type and length,
   * overlapping neither the logits nor the target; needs `grad: true`. computeLossAsync writes it
   * when the call completes (transferring or detaching it meanwhile rejects the promise). The result's `grad` is this array. Reusing one
   * array across calls (a training loop) saves an allocation and its page faults per call.
   */
  readonly gradOut?: T;
}

/** Options of `computeLossAsync` beyond the loss's own. */
export interface AsyncLossOptions {
  /**
   * Aborts the call if it has not started. Once started (a loss call takes milliseconds), the call
   * runs to completion and the promise settles with its result; aborting then has no effect.
   */
  readonly signal?: AbortSignal;
}

import type { LossName, LossOptionsById } from './losses/registry';

export type { ComboLossOptions } from './losses/combo';
export type { BoundaryAwareLossOptions } from './losses/boundary-aware';
export type { ConditionalBoundaryLossOptions } from './losses/conditional-boundary';
export type { CrossEntropyLossOptions } from './losses/cross-entropy';
export type { DiceLossOptions, DicePreset } from './losses/dice';
export type { ExpLogLossOptions, ExpLogPreset } from './losses/exp-log';
export type { FocalLossOptions, FocalPreset } from './losses/focal';
export type { FocalTverskyLossOptions, FocalTverskyPreset } from './losses/focal-tversky';
export type { TopKLossOptions, TopKPreset } from './losses/topk';
export type { GeneralizedWassersteinDiceLossOptions, WassersteinWeighting } from './losses/generalized-wasserstein-dice';
export type { InverseFormLossOptions } from './losses/inverseform';
export type { JaccardLossOptions, JaccardPreset } from './losses/jaccard';
export type { LogCoshDiceLossOptions } from './losses/log-cosh-dice';
export type { LovaszClasses, LovaszSoftmaxLossOptions } from './losses/lovasz-softmax';
export type { RmiLossOptions, RmiPoolMode } from './losses/rmi';
export type { RobustTLossOptions } from './losses/robust-t';
export type { SensitivitySpecificityLossOptions, SensitivitySpecificityPreset } from './losses/sensitivity-specificity';
export type { TverskyLossOptions } from './losses/tversky';
export type { UnifiedFocalLossOptions, UnifiedFocalPreset } from './losses/unified-focal';
export type { LossName, LossOptionsById } from './losses/registry';

/** Options of a single loss `L` in a call: its own plus the common ones. */
export type LossOptions<L extends LossName> = LossOptionsById[L] & CommonLossOptions;

/** One term of a compound loss: `weight · loss(options)`. */
export type LossTerm = {
  [L in LossName]: {
    /** The loss id. */
    readonly loss: L;
    /** The term's factor; finite. Default `1`. */
    readonly weight?: number;
    /** The loss's own options (activation, ignoreIndex, grad and gradScale are set at the top level). */
    readonly options?: LossOptionsById[L];
  };
}[LossName];

/** What `computeLoss` computes: one loss id, or a weighted sum of terms. */
export type LossSpec = LossName | readonly LossTerm[];
