/**
 * The losses that run on their own native entry points (native/core/standalone, docs/engine.md)
 * because their input is not the engine's logits [B, C, N] + labels in [0, C): their extra
 * input checks, and the calls into the core addon. `computeLoss` and `computeLossAsync` (and the
 * torch API) route a single loss whose definition has `ownEntry` here; such a loss is never a
 * term of a compound loss.
 */
import { type CheckedInput, checkFiniteLogits, checkLossInput, findNonFinite } from './input';
import { defaultInverseFormNetwork } from './inverseform';
import { boundaryAwareOptions } from './losses/boundary-aware';
import { resolveTable } from './losses/options';
import { lossDefinition } from './losses/registry';
import { type ConditionalBoundaryExtra, coreAddon } from './native/core';
import type { ResolvedLossRequest, ResolvedLossTerm } from './native/resolved';
import type { LogitsArray, LossShape } from './types';
import { checkKnownKeys, is, rangeError, rangeErrorText, typeError } from './validate';

/** A resolved term of a given loss id. */
export type TermOf<Id extends string> = Extract<ResolvedLossTerm, { readonly id: Id }>;

/** The single own-entry term of a request, or null when the request runs on the engine. */
export function ownEntryTerm(request: ResolvedLossRequest): ResolvedLossTerm | null {
  if (request.terms.length !== 1) return null;
  const term = request.terms[0];
  return lossDefinition(term.id).ownEntry ? term : null;
}

/** conditional-boundary's extra inputs, checked (every array of the logits' type). */
export interface CheckedFeatures {
  readonly features: LogitsArray; // [B, D, H, W]
  readonly featureChannels: number; // D
  readonly classifierWeight: LogitsArray; // [C, D]
  readonly classifierBias: LogitsArray | null; // [C]
}

/** What an own-entry loss reads: the input (its labels' K set for that loss) and its extra inputs. */
export interface OwnEntryInput {
  readonly input: CheckedInput;
  readonly features: CheckedFeatures | null;
}

/**
 * The checks an own-entry loss adds to the common ones (before any label or logit check): for
 * boundary-aware, C·K channels (K = channels / bins classes); for conditional-boundary, the
 * features and the classifier. `raw` is the caller's input object.
 */
export function checkOwnEntryInput(term: ResolvedLossTerm, checked: CheckedInput, user: Record<string, unknown>, raw: unknown): OwnEntryInput {
  if (term.id === 'boundary-aware') return { input: checkBinnedInput(term, checked, user), features: null };
  if (term.id === 'conditional-boundary') return { input: checkFeatureInput(checked), features: checkFeatures(checked, raw as Record<string, unknown>) };
  if (term.id === 'inverseform') return { input: checkEdgeChannelInput(checked, user), features: null };
  return { input: checked, features: null };
}

function checkBinnedInput(term: TermOf<'boundary-aware'>, checked: CheckedInput, user: Record<string, unknown>): CheckedInput {
  if (user.activation !== undefined && user.activation !== 'sigmoid') {
    throw rangeError("'sigmoid' (boundary-aware's bins are binary CEs with logits)", 'activation', user.activation);
  }
  if (checked.channels % term.bins !== 0) {
    throw rangeErrorText(`C·K channels, a multiple of bins K = ${term.bins}`, 'shape[1] (C·K)', String(checked.channels));
  }
  return { ...checked, classes: checked.channels / term.bins };
}

function checkFeatureInput(checked: CheckedInput): CheckedInput {
  if (checked.shape.length !== 4) throw rangeErrorText('[B, C, H, W] (conditional-boundary is 2-D)', 'shape', `${checked.shape.length} entries`);
  if (checked.channels < 2) throw rangeError('an integer ≥ 2 (conditional-boundary needs C ≥ 2 classes)', 'shape[1] (C)', checked.channels);
  return { ...checked, classes: checked.channels };
}

function checkEdgeChannelInput(checked: CheckedInput, user: Record<string, unknown>): CheckedInput {
  if (checked.shape.length !== 4) throw rangeErrorText('[B, C + 1, H, W] (inverseform is 2-D)', 'shape', `${checked.shape.length} entries`);
  if (checked.channels < 3) {
    throw rangeError('an integer ≥ 3 (C ≥ 2 segmentation channels, then the edge channel)', 'shape[1] (C + 1)', checked.channels);
  }
  if (user.activation !== undefined && user.activation !== 'softmax') {
    throw rangeError("'softmax' (inverseform's segmentation channels take the softmax, its edge channel the sigmoid)", 'activation', user.activation);
  }
  return { ...checked, classes: checked.channels - 1 };
}

function arrayTypeName(logits: LogitsArray): string {
  return logits instanceof Float64Array ? 'Float64Array' : 'Float32Array';
}

function checkSameType(value: unknown, name: string, logits: LogitsArray): LogitsArray {
  const Type = logits instanceof Float64Array ? Float64Array : Float32Array;
  if (!(value instanceof Type)) throw typeError(`a ${arrayTypeName(logits)} (the logits' type)`, name, value);
  return value;
}

function checkFeatures(checked: CheckedInput, raw: Record<string, unknown>): CheckedFeatures {
  const [batch, classes, height, width] = checked.shape;
  const features = checkSameType(raw.features, 'features', checked.logits);
  const shape = raw.featureShape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => is.number(d) && is.integer(d) && d > 0)) {
    throw typeError('an array [B, D, H, W] of positive integers', 'featureShape', shape);
  }
  const [fb, channels, fh, fw] = shape as number[];
  if (fb !== batch || fh !== height || fw !== width) {
    throw rangeErrorText(`[${batch}, D, ${height}, ${width}] (the logits' B, H, W)`, 'featureShape', `[${shape.join(', ')}]`);
  }
  if (features.length !== batch * channels * height * width) {
    throw rangeErrorText(`length ${batch * channels * height * width} (B·D·H·W of featureShape)`, 'features', `length ${features.length}`);
  }
  const classifierWeight = checkSameType(raw.classifierWeight, 'classifierWeight', checked.logits);
  if (classifierWeight.length !== classes * channels) {
    throw rangeErrorText(`length ${classes * channels} (C·D = ${classes}·${channels})`, 'classifierWeight', `length ${classifierWeight.length}`);
  }
  let classifierBias: LogitsArray | null = null;
  if (raw.classifierBias !== undefined) {
    classifierBias = checkSameType(raw.classifierBias, 'classifierBias', checked.logits);
    if (classifierBias.length !== classes) throw rangeErrorText(`length ${classes} (C)`, 'classifierBias', `length ${classifierBias.length}`);
  }
  for (const [name, array] of [['features', features], ['classifierWeight', classifierWeight], ['classifierBias', classifierBias]] as const) {
    const bad = array ? findNonFinite(array) : -1;
    if (bad >= 0) throw rangeErrorText('finite values', name, `${array?.[bad]} at index ${bad}`);
  }
  return { features, featureChannels: channels, classifierWeight, classifierBias };
}

/** One own-entry loss call on the core addon, checked; the gradients are written when given. */
export interface OwnEntryCall {
  readonly input: CheckedInput;
  readonly features: CheckedFeatures | null;
  readonly term: ResolvedLossTerm;
  readonly gradScale: number;
  readonly grad: LogitsArray | null;
}

/** conditional-boundary's gradients for its extra inputs (allocated when the logits' is). */
export interface FeatureGrads {
  readonly featuresGrad: LogitsArray;
  readonly classifierWeightGrad: LogitsArray;
  readonly classifierBiasGrad: LogitsArray;
}

function like(array: LogitsArray, length: number): LogitsArray {
  return array instanceof Float64Array ? new Float64Array(length) : new Float32Array(length);
}

/** New gradient arrays for conditional-boundary's extra inputs. */
export function newFeatureGrads(features: CheckedFeatures, classes: number): FeatureGrads {
  return {
    featuresGrad: like(features.features, features.features.length),
    classifierWeightGrad: like(features.features, features.classifierWeight.length),
    classifierBiasGrad: like(features.features, classes),
  };
}

function featureExtra(features: CheckedFeatures, grads: FeatureGrads | null): ConditionalBoundaryExtra {
  return { ...features, featuresGrad: grads?.featuresGrad ?? null, classifierWeightGrad: grads?.classifierWeightGrad ?? null, classifierBiasGrad: grads?.classifierBiasGrad ?? null };
}

/** The value of an own-entry call, synchronously (conditional-boundary: `grads` written too). */
export function computeOwnEntry(call: OwnEntryCall, grads: FeatureGrads | null): number {
  const { input, term } = call;
  if (term.id === 'boundary-aware') {
    return coreAddon().computeBoundaryAware(input.logits, input.target, input.shape, term, call.gradScale, call.grad);
  }
  if (term.id === 'inverseform') {
    return coreAddon().computeInverseForm(input.logits, input.target, input.shape, term, call.gradScale, call.grad, term.network ?? defaultInverseFormNetwork());
  }
  if (term.id === 'conditional-boundary' && call.features) {
    return coreAddon().computeConditionalBoundary(input.logits, input.target, input.shape, term, call.gradScale, call.grad, featureExtra(call.features, grads));
  }
  throw new Error(`segloss internal error: '${term.id}' has no own entry point`);
}

/** The value of an own-entry call, on a libuv worker thread (inputs copied at the call). */
export function computeOwnEntryAsync(call: OwnEntryCall, grads: FeatureGrads | null): Promise<number> {
  const { input, term } = call;
  if (term.id === 'boundary-aware') {
    return coreAddon().computeBoundaryAwareAsync(input.logits, input.target, input.shape, term, call.gradScale, call.grad);
  }
  if (term.id === 'inverseform') {
    return coreAddon().computeInverseFormAsync(input.logits, input.target, input.shape, term, call.gradScale, call.grad, term.network ?? defaultInverseFormNetwork());
  }
  if (term.id === 'conditional-boundary' && call.features) {
    return coreAddon().computeConditionalBoundaryAsync(input.logits, input.target, input.shape, term, call.gradScale, call.grad, featureExtra(call.features, grads));
  }
  return Promise.reject(new Error(`segloss internal error: '${term.id}' has no own entry point`));
}

/** Options of {@link decodeBoundaryAware}: those of the loss. */
export interface DecodeBoundaryAwareOptions {
  /** K, the bins per class (the logits have C·K channels). Default `5`. */
  readonly bins?: number;
  /** R, the distance truncation the bins were trained with. Default `5`. */
  readonly radius?: number;
}

/**
 * Turns `boundary-aware` bin predictions back into a label map (Hayder et al. 2017). For class c,
 * a pixel is "on" when its largest bin logit is > 0 (σ > ½); the class's mask is the union of the
 * closed disks (balls in 3-D) of radius ρ_n = ⌈n·R/K⌉ around its on pixels, n the pixel's bin: the
 * largest radius for which every pixel of bin n has its class around it. A pixel takes the
 * covering class with the largest bin logit there, or, when no class covers it, the class with
 * the largest bin logit. A perfect bin prediction decodes to the target exactly.
 *
 * @param logits - [B, C·K, H, W] (or [B, C·K, D, H, W]) bin logits, Float32Array | Float64Array.
 * @param shape - the logits' shape.
 * @returns Int32Array [B, H, W] (or [B, D, H, W]) of class indices in [0, C).
 * @throws TypeError / RangeError (code `'SEGLOSS_INVALID_ARGUMENT'`) for a bad array, shape, or
 *   options, or channels that are not a multiple of `bins`.
 * @example
 * ```ts
 * const labels = decodeBoundaryAware(logits, [1, 2 * 5, 64, 64], { bins: 5, radius: 5 });
 * ```
 */
export function decodeBoundaryAware(logits: LogitsArray, shape: LossShape, options: DecodeBoundaryAwareOptions = {}): Int32Array {
  if (!is.object(options)) throw typeError('an object', 'options', options);
  checkKnownKeys(options, ['bins', 'radius'], 'an option name of decodeBoundaryAware');
  const checked = checkLossInput({ logits, target: new Uint8Array(lengthOfLabels(shape)), shape });
  const own = resolveTable(boundaryAwareOptions, options, { channels: checked.channels, classes: checked.classes }, '');
  if (checked.channels % own.bins !== 0) {
    throw rangeErrorText(`C·K channels, a multiple of bins K = ${own.bins}`, 'shape[1] (C·K)', String(checked.channels));
  }
  checkFiniteLogits(checked);
  const term = { id: 'boundary-aware', weight: 1, activation: 'sigmoid', ignoreIndex: null, ...own } as const;
  return coreAddon().decodeBoundaryAware(checked.logits, checked.shape, term);
}

/** B·∏spatial of a shape, or 0 when it is not an array of numbers (checkLossInput then words the error). */
function lengthOfLabels(shape: unknown): number {
  if (!Array.isArray(shape) || shape.length < 3 || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d > 0)) return 0;
  return (shape as number[]).reduce((a, d, i) => (i === 1 ? a : a * d), 1);
}
