/**
 * The public loss calls: validate at the edge, resolve the options into the flat request, call
 * the core addon (synchronously, or on a libuv worker thread).
 */
import { checkSignal, throwIfAborted, withCallerStack } from './abort';
import { checkFiniteLogits, checkLabels, checkLossInput, type CheckedInput } from './input';
import { coreAddon } from './native/core';
import type { ResolvedLossRequest, ResolvedLossTerm } from './native/resolved';
import {
  type CheckedFeatures,
  checkOwnEntryInput,
  computeOwnEntry,
  computeOwnEntryAsync,
  type FeatureGrads,
  newFeatureGrads,
  type OwnEntryCall,
  ownEntryTerm,
} from './standalone-losses';
import { checkLossSpec, checkOptionKeys, resolveLossCall } from './resolve';
import type {
  AsyncLossOptions,
  OutputOptions,
  CommonLossOptions,
  LogitsArray,
  LossInput,
  LossName,
  LossOptions,
  LossResult,
  LossResultWithGrad,
  LossTerm,
} from './types';
import { rangeErrorText, typeError } from './validate';

/** A loss call's arguments, checked, with the options resolved into the flat native request. */
export interface CheckedLossCall {
  readonly input: CheckedInput;
  /** conditional-boundary's features and classifier, checked (null for every other loss). */
  readonly features: CheckedFeatures | null;
  readonly request: ResolvedLossRequest;
  readonly common: ReturnType<typeof resolveLossCall>['common'];
  readonly userOptions: Record<string, unknown>; // the caller's options object (names checked)
}

/**
 * The checks every loss call makes (core and torch addon alike), in a useful order: loss spec,
 * option names (plus `extraNames` the caller handles), input, option values, then — unless
 * `dataChecks` is 'native' — labels and logits. With 'native' the core engine checks labels and
 * logits inside its first pass (no extra pass over the data) and the caller words its failure
 * with {@link explainNativeFailure}.
 */
export function checkLossCall(
  loss: unknown,
  input: unknown,
  options: unknown,
  extraNames: readonly string[],
  dataChecks: 'here' | 'native' = 'here',
): CheckedLossCall {
  const spec = checkLossSpec(loss);
  const userOptions = checkOptionKeys(spec, options, extraNames);
  const checked = checkLossInput(input);
  const { request, common } = resolveLossCall(spec, userOptions, checked);
  const own = ownEntryTerm(request);
  const { input: dataInput, features } = own ? checkOwnEntryInput(own, checked, userOptions, input) : { input: checked, features: null };
  if (dataChecks === 'here') checkDataOf(dataInput, common.ignoreIndex);
  return { input: dataInput, features, request, common, userOptions };
}

function checkDataOf(input: CheckedInput, ignoreIndex: number | null): void {
  checkLabels(input, ignoreIndex);
  checkFiniteLogits(input);
}

/**
 * The error to throw for a failed core call whose labels and logits were left to the engine: the
 * RangeError naming the first bad label or logit when there is one (the same error as the
 * up-front checks give), else the native error itself.
 */
function explainNativeFailure(error: unknown, call: PreparedLossCall): unknown {
  try {
    checkDataOf(call.input, call.ignoreIndex);
  } catch (dataError) {
    return dataError;
  }
  return error;
}

/** Everything a core-addon loss call takes, checked. */
interface PreparedLossCall {
  readonly input: CheckedInput;
  readonly features: CheckedFeatures | null;
  readonly request: ResolvedLossRequest;
  readonly ignoreIndex: number | null;
  readonly grad: LogitsArray | null; // [B, C, N], the logits' type, or null
  readonly stateGrad: Float64Array | null; // [1] d value / d θ (robust-t terms, with grad), or null
}

function prepareLossCall(loss: unknown, input: unknown, options: unknown, extraNames: readonly string[]): PreparedLossCall {
  const { input: checked, features, request, common, userOptions } = checkLossCall(loss, input, options, [...extraNames, 'gradOut'], 'native');
  const out = checkGradOut(userOptions.gradOut, checked, common.grad);
  const grad = common.grad ? (out ?? newLike(checked.logits)) : null;
  const stateGrad = grad && request.terms.some((t) => t.id === 'robust-t') ? new Float64Array(1) : null;
  return { input: checked, features, request, ignoreIndex: common.ignoreIndex, grad, stateGrad };
}

/**
 * `gradOut`: a caller-owned array for the gradient (same type and length as the logits, not
 * overlapping them nor the target), so that repeated calls allocate nothing. Needs `grad: true`.
 */
function checkGradOut(value: unknown, input: CheckedInput, grad: boolean): LogitsArray | null {
  if (value === undefined) return null;
  const { logits } = input;
  const type = logits instanceof Float64Array ? 'Float64Array' : 'Float32Array';
  if (!(value instanceof (logits instanceof Float64Array ? Float64Array : Float32Array))) {
    throw typeError(`a ${type} (the logits' type)`, 'gradOut', value);
  }
  if (value.length !== logits.length) {
    throw rangeErrorText(`a ${type} of length ${logits.length} (the logits' length)`, 'gradOut', `length ${value.length}`);
  }
  // Overlapping the target would overwrite labels while the engine still reads them.
  if (overlaps(value, logits)) throw rangeErrorText('an array that does not overlap the logits', 'gradOut', 'a view overlapping logits');
  if (overlaps(value, input.target)) throw rangeErrorText('an array that does not overlap the target', 'gradOut', 'a view overlapping target');
  if (!grad) throw rangeErrorText('grad: true with gradOut (gradOut receives the gradient)', 'grad', 'false');
  return value;
}

/** Whether two views share a byte of one buffer. */
function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function newLike(logits: LogitsArray): LogitsArray {
  return logits instanceof Float64Array ? new Float64Array(logits.length) : new Float32Array(logits.length);
}

/** [B, C, H, W] or [B, C, D, H, W]: the spatial shape reaches the distance-map losses. */
function dims(input: CheckedInput): number[] {
  return [...input.shape];
}

function toResult<T extends LogitsArray>(
  value: number,
  grad: LogitsArray | null,
  stateGrad: Float64Array | null,
  extra: FeatureGrads | null,
): LossResult<T> {
  if (!grad) return { value };
  const nu = stateGrad ? { gradNuParameter: stateGrad[0] } : {};
  return { value, grad: grad as T, ...nu, ...extra } as LossResult<T>;
}

/** conditional-boundary's extra gradients, allocated when the call asks for a gradient. */
function featureGradsOf(call: PreparedLossCall): FeatureGrads | null {
  return call.features && call.grad ? newFeatureGrads(call.features, call.input.channels) : null;
}

function ownEntryCall(call: PreparedLossCall, term: ResolvedLossTerm): OwnEntryCall {
  return { input: call.input, features: call.features, term, gradScale: call.request.gradScale, grad: call.grad };
}

/**
 * Computes a segmentation loss, and on request its gradient, on the CPU core engines.
 *
 * Losses (`lossNames`; each is documented in docs/losses.md):
 * - `'cross-entropy'` — mean over valid pixels of −log p_t; options `classWeights` (number[K]),
 *   `labelSmoothing` (ε ∈ [0, 1]); equals torch `F.cross_entropy(weight, ignore_index, label_smoothing)`.
 * - `'focal'` — mean over valid pixels of −α_t (1 − p_t)^γ log p_t (Lin et al. 2017); options `gamma`
 *   (2), `alpha` (number[K]), `preset` (`'monai'`: value / K; `'smp'`: smp's per-channel sigmoid
 *   focal terms, mean over channels, `alpha` its scalar α ∈ [0, 1]).
 * - `'dice'` — 1 − mean_c (2 I_c + s)/(P_c + G_c + s) (Milletari et al. 2016, V-Net); options
 *   `perImage` (false), `includeBackground` (true), `smooth` (1e-5), `squared` (false), `logLoss`
 *   (false), `preset` (`'monai'` | `'smp'` | `'nnunet'`, see {@link DiceLossOptions.preset}).
 * - `'log-cosh-dice'` — log(cosh(L_dice)) (Jadon 2020), L_dice as `'dice'` with its options.
 * - `'generalized-wasserstein-dice'` — per image 1 − (2TP + ε)/(D + ε) with W_i = Σ_c M[t_i, c] p_ic
 *   (Fidon et al. 2017), mean over images; options `distanceMatrix` (K×K, scaled to max 1; default
 *   1 − I), `weighting` (`'default'` | `'gdl'`).
 * - `'rmi'` — region mutual information (Zhao et al. 2019; ZJULearning RMILoss.forward_sigmoid):
 *   λ·BCE + (1 − λ)·RMI lower bound over pooled R×R neighbourhoods; options `radius` (3), `poolMode`
 *   (`'avg'` | `'max'`), `poolSize` (2), `poolStride` (2), `lambda` (0.5); sigmoid only; 3-D per slice.
 * - `'robust-t'` — Student-t negative log-likelihood of p − g per image and foreground class
 *   (Gonzalez-Jimenez et al. 2023), mean over images and classes; option `nuParameter` (the
 *   learned θ, ν = e^θ + 1e-8; default 1). With `grad: true` the result also has `gradNuParameter`.
 * - `'jaccard'` — 1 − mean_c (I_c + s)/(P_c + G_c − I_c + s); `perImage`, `includeBackground`,
 *   `smooth`, `squared`, `preset` `'monai'`.
 * - `'tversky'` — 1 − mean_c (I_c + s)/(I_c + α FP_c + β FN_c + s) (Salehi et al. 2017); the region
 *   options and `alpha` (false positives, 0.3), `beta` (false negatives, 0.7).
 * - `'focal-tversky'` — mean_c (1 − TI_c)^(1/γ) (Abraham & Khan 2019); as `'tversky'` plus `gamma`
 *   (4/3), `preset` `'odyssey'` (exponent after the class mean).
 * - `'sensitivity-specificity'` — mean_c r·Σ(g − p)²g/(Σg + s) + (1 − r)·Σ(g − p)²(1 − g)/(Σ(1 − g) + s)
 *   (Brosch et al. 2015); the region options and `r` (0.05), `preset` `'odyssey'`.
 * - an array of terms `[{ loss, weight?, options? }]`: Σ weight · loss, computed in one native call
 *   with the gradients accumulated; `activation`, `ignoreIndex`, `grad`, `gradScale` are given at
 *   the top level and shared by the terms.
 *
 * Common options: `activation` (`'softmax'` for C ≥ 2, `'sigmoid'` for C = 1), `ignoreIndex`
 * (none), `grad` (false), `gradScale` (1), `gradOut` (an array of the logits' type and length
 * to write the gradient into instead of a new one; needs `grad: true`).
 *
 * Shapes: logits [B, C, H, W] (or [B, C, D, H, W]) Float32Array | Float64Array; target [B, H, W]
 * (or [B, D, H, W]) Uint8Array | Uint16Array | Int32Array with labels in [0, K), K = C (2 when
 * C = 1), or the ignore index. Volumes (5-D shapes) work for every loss.
 *
 * @returns `{ value }`, plus `grad` (d value / d logits · gradScale, the logits' type and length)
 *   when `grad: true`. When every pixel is ignored, value 0 and a zero gradient.
 * @throws TypeError (code `'SEGLOSS_INVALID_ARGUMENT'`) for an argument of the wrong type.
 * @throws RangeError (same code) for an unknown loss id, option name or preset, an out-of-range
 *   option value, a length that does not match the shape, a label outside [0, K) that is not the
 *   ignore index (naming [b, h, w]), or a non-finite logit (naming its index).
 * @example
 * ```ts
 * import { computeLoss } from 'segloss';
 * const logits = new Float32Array(2 * 3 * 4 * 4);   // [B, C, H, W] = [2, 3, 4, 4]
 * const target = new Uint8Array(2 * 4 * 4);         // [B, H, W]
 * const { value, grad } = computeLoss('dice', { logits, target, shape: [2, 3, 4, 4] }, { perImage: true, grad: true });
 * ```
 */
export function computeLoss<T extends LogitsArray, L extends LossName>(
  loss: L,
  input: LossInput<T>,
  options: LossOptions<L> & OutputOptions<T> & { readonly grad: true },
): LossResultWithGrad<T>;
export function computeLoss<T extends LogitsArray, L extends LossName>(
  loss: L,
  input: LossInput<T>,
  options?: LossOptions<L> & OutputOptions<T>,
): LossResult<T>;
export function computeLoss<T extends LogitsArray>(
  loss: readonly LossTerm[],
  input: LossInput<T>,
  options: CommonLossOptions & OutputOptions<T> & { readonly grad: true },
): LossResultWithGrad<T>;
export function computeLoss<T extends LogitsArray>(
  loss: readonly LossTerm[],
  input: LossInput<T>,
  options?: CommonLossOptions & OutputOptions<T>,
): LossResult<T>;
export function computeLoss(loss: unknown, input: unknown, options?: unknown): LossResult {
  const call = prepareLossCall(loss, input, options, []);
  const { logits, target } = call.input;
  const own = ownEntryTerm(call.request);
  const extra = featureGradsOf(call);
  let value: number;
  try {
    value = own
      ? computeOwnEntry(ownEntryCall(call, own), extra)
      : coreAddon().computeLoss(logits, target, dims(call.input), call.request, call.grad, call.stateGrad);
  } catch (error) {
    throw explainNativeFailure(error, call);
  }
  return toResult(value, call.grad, call.stateGrad, extra);
}


/**
 * {@link computeLoss} on a libuv worker thread: the same losses, options, results and errors,
 * as a Promise. Validation errors reject the promise (nothing runs).
 *
 * `logits` and `target` are copied when the call starts: the caller may modify, reuse or transfer
 * them as soon as `computeLossAsync` returns.
 *
 * `signal`: an AbortSignal that is already aborted rejects with an `AbortError` and computes
 * nothing. A call that has started runs to completion (a loss evaluation is short) and the
 * promise settles with its result; aborting after the start has no effect.
 *
 * @throws (rejects) TypeError / RangeError as {@link computeLoss}; TypeError when `signal` is not
 *   an AbortSignal; `AbortError` (code `'ABORT_ERR'`) when `signal` is aborted before the start.
 * @example
 * ```ts
 * const controller = new AbortController();
 * const { value } = await computeLossAsync('cross-entropy', { logits, target, shape: [1, 2, 8, 8] },
 *   { classWeights: [1, 3], signal: controller.signal });
 * ```
 */
export function computeLossAsync<T extends LogitsArray, L extends LossName>(
  loss: L,
  input: LossInput<T>,
  options: LossOptions<L> & AsyncLossOptions & OutputOptions<T> & { readonly grad: true },
): Promise<LossResultWithGrad<T>>;
export function computeLossAsync<T extends LogitsArray, L extends LossName>(
  loss: L,
  input: LossInput<T>,
  options?: LossOptions<L> & AsyncLossOptions & OutputOptions<T>,
): Promise<LossResult<T>>;
export function computeLossAsync<T extends LogitsArray>(
  loss: readonly LossTerm[],
  input: LossInput<T>,
  options: CommonLossOptions & AsyncLossOptions & OutputOptions<T> & { readonly grad: true },
): Promise<LossResultWithGrad<T>>;
export function computeLossAsync<T extends LogitsArray>(
  loss: readonly LossTerm[],
  input: LossInput<T>,
  options?: CommonLossOptions & AsyncLossOptions & OutputOptions<T>,
): Promise<LossResult<T>>;
export async function computeLossAsync(loss: unknown, input: unknown, options?: unknown): Promise<LossResult> {
  const callerStack = new Error().stack;
  const call = prepareLossCall(loss, input, options, ['signal']);
  throwIfAborted(checkSignal(options));
  const { logits, target } = call.input;
  const own = ownEntryTerm(call.request);
  const extra = featureGradsOf(call);
  const started = own
    ? computeOwnEntryAsync(ownEntryCall(call, own), extra)
    : coreAddon().computeLossAsync(logits, target, dims(call.input), call.request, call.grad, call.stateGrad);
  const native = started.catch((error: unknown) => Promise.reject(explainNativeFailure(error, call)));
  return toResult(await withCallerStack(native, callerStack), call.grad, call.stateGrad, extra);
}
