/**
 * The losses on libtorch tensors: the same losses, options, results and argument errors as
 * `computeLoss`, computed by the torch addon's autograd op (native/torch/fused_loss.h) — forward
 * on the engine of the device, then, with `grad: true`, `value.backward(gradScale)` through
 * autograd. On the CPU the result equals `computeLoss`; on CUDA (a torch addon built with CUDA)
 * the CUDA engines run the same functors.
 *
 * The torch addon is optional: it is built at install when libtorch is found. Without it, every
 * function here except {@link torchAvailable} throws an Error with code `'SEGLOSS_NO_LIBTORCH'`
 * that says how to get libtorch.
 */
import { checkLossCall } from '../compute';
import type { CheckedInput } from '../input';
import type { ResolvedLossRequest } from '../native/resolved';
import { defaultInverseFormNetwork } from '../inverseform';
import { type CheckedFeatures, ownEntryTerm } from '../standalone-losses';
import type {
  AsyncLossOptions,
  CommonLossOptions,
  LogitsArray,
  LossInput,
  LossName,
  LossOptions,
  LossResult,
  LossResultWithGrad,
  LossTerm,
} from '../types';
import { is, rangeError, typeError } from '../validate';
import { type TorchAddon, type TorchInfo, type TorchLossOutput, torchAddon } from './addon';

export { NO_LIBTORCH, torchAddonPath } from './addon';
export type { TorchInfo } from './addon';

/** `code` of the error thrown when `device: 'cuda'` is asked of a torch addon without CUDA. */
export const NO_CUDA = 'SEGLOSS_NO_CUDA';

/** Where a torch loss runs: `'cpu'`, `'cuda'` (the current device) or `'cuda:<index>'`. */
export type TorchDevice = 'cpu' | 'cuda' | `cuda:${number}`;

/** Options of the torch API beyond the loss's own. */
export interface TorchLossOptions {
  /** Device of the tensors (the typed arrays are copied there). Default `'cpu'`. */
  readonly device?: TorchDevice;
}

/**
 * Whether the torch addon is built and loads (loading it on first call; never throws).
 * @example
 * ```ts
 * if (torchAvailable()) console.log(torchInfo().torchVersion);
 * ```
 */
export function torchAvailable(): boolean {
  try {
    torchAddon();
    return true;
  } catch {
    return false;
  }
}

/**
 * The libtorch the torch addon runs on: versions (loaded and built against), its folder, CUDA
 * devices and threads.
 * @throws Error (code `'SEGLOSS_NO_LIBTORCH'`) when the torch addon is unavailable.
 */
export function torchInfo(): TorchInfo {
  return torchAddon().info();
}

const DEVICE_FORMS = "'cpu', 'cuda' or 'cuda:<index>'";

/** Checks a torch `device` option against the addon (CUDA built and visible); `'cpu'` when undefined. */
export function checkDevice(value: unknown, addon: TorchAddon): string {
  if (value === undefined) return 'cpu';
  if (!is.string(value)) throw typeError(DEVICE_FORMS, 'device', value);
  const match = /^(cpu|cuda)(?::(0|[1-9][0-9]*))?$/.exec(value);
  if (!match || (match[1] === 'cpu' && match[2] !== undefined)) throw rangeError(DEVICE_FORMS, 'device', value);
  if (match[1] === 'cpu') return value;
  const info = addon.info();
  if (!info.cudaBuilt || !info.cuda) {
    const why = info.cudaBuilt ? 'libtorch sees no CUDA device' : `the torch addon was built against a CPU libtorch ${info.builtAgainst}`;
    const error = new Error(`segloss: device '${value}' is unavailable: ${why}. Rebuild with a CUDA libtorch and nvcc (npm run build:torch).`);
    throw Object.assign(error, { code: NO_CUDA });
  }
  if (match[2] !== undefined && Number(match[2]) >= info.cudaDevices) {
    throw rangeError(`a CUDA device index below ${info.cudaDevices}`, 'device', value);
  }
  return value;
}

/** Everything one torch loss call takes, checked. */
interface PreparedTorchCall {
  readonly addon: TorchAddon;
  readonly input: CheckedInput;
  readonly request: ResolvedLossRequest;
  readonly grad: boolean;
  readonly device: string;
  readonly features: CheckedFeatures | null;
}

/** The checks of computeLoss, in its order, then the device. Loads the addon first. */
function prepareTorchCall(loss: unknown, input: unknown, options: unknown, extraNames: readonly string[]): PreparedTorchCall {
  const addon = torchAddon();
  const { input: checked, features, request, common, userOptions } = checkLossCall(loss, input, options, ['device', ...extraNames]);
  const device = checkDevice(userOptions.device, addon);
  return { addon, input: checked, request, grad: common.grad, device, features };
}

/** The extra inputs of an own-entry loss: conditional-boundary's features, inverseform's network. */
function torchExtra(call: PreparedTorchCall): CheckedFeatures | { readonly network: Float32Array } | null {
  const own = ownEntryTerm(call.request);
  if (own?.id === 'inverseform') return { network: own.network ?? defaultInverseFormNetwork() };
  return call.features;
}

function toResult<T extends LogitsArray>(output: TorchLossOutput): LossResult<T> {
  if (!output.grad) return { value: output.value };
  const grad = output.grad as T;
  const nu = output.gradNuParameter === undefined ? {} : { gradNuParameter: output.gradNuParameter };
  if (!output.featuresGrad) return { value: output.value, grad, ...nu };
  const { featuresGrad, classifierWeightGrad, classifierBiasGrad } = output;
  return { value: output.value, grad, ...nu, featuresGrad, classifierWeightGrad, classifierBiasGrad } as LossResult<T>;
}

/**
 * Computes a segmentation loss through the libtorch autograd op, and with `grad: true` its
 * gradient by `backward(gradScale)`: the losses, options, results and errors of `computeLoss`,
 * plus `device`. The value is rounded to the logits' precision (a float32 tensor).
 *
 * @returns `{ value }`, plus `grad` (d value / d logits · gradScale, the logits' type) with `grad: true`.
 * @throws Error (code `'SEGLOSS_NO_LIBTORCH'`) when the torch addon is unavailable.
 * @throws TypeError / RangeError (code `'SEGLOSS_INVALID_ARGUMENT'`) exactly as `computeLoss`, and
 *   for a `device` that is not `'cpu'`, `'cuda'` or `'cuda:<index>'`.
 * @throws Error (code `'SEGLOSS_NO_CUDA'`) for a CUDA device when the addon has no CUDA engines or
 *   libtorch sees no device.
 * @example
 * ```ts
 * import { computeLossTorch } from 'segloss';
 * const { value, grad } = computeLossTorch('dice', { logits, target, shape: [2, 3, 64, 64] },
 *   { perImage: true, grad: true, gradScale: 0.5, device: 'cpu' });
 * ```
 */
export function computeLossTorch<T extends LogitsArray, L extends LossName>(
  loss: L,
  input: LossInput<T>,
  options: LossOptions<L> & TorchLossOptions & { readonly grad: true },
): LossResultWithGrad<T>;
export function computeLossTorch<T extends LogitsArray, L extends LossName>(
  loss: L,
  input: LossInput<T>,
  options?: LossOptions<L> & TorchLossOptions,
): LossResult<T>;
export function computeLossTorch<T extends LogitsArray>(
  loss: readonly LossTerm[],
  input: LossInput<T>,
  options: CommonLossOptions & TorchLossOptions & { readonly grad: true },
): LossResultWithGrad<T>;
export function computeLossTorch<T extends LogitsArray>(
  loss: readonly LossTerm[],
  input: LossInput<T>,
  options?: CommonLossOptions & TorchLossOptions,
): LossResult<T>;
export function computeLossTorch(loss: unknown, input: unknown, options?: unknown): LossResult {
  const call = prepareTorchCall(loss, input, options, []);
  const { logits, target, shape } = call.input;
  return toResult(call.addon.lossBackward(logits, target, shape, call.request, call.device, call.grad, torchExtra(call)));
}

function checkSignal(options: unknown): AbortSignal | undefined {
  if (!is.object(options) || options.signal === undefined) return undefined;
  const signal = options.signal;
  if (!(signal instanceof AbortSignal)) throw typeError('an AbortSignal', 'signal', signal);
  return signal;
}

/**
 * {@link computeLossTorch} on a libuv worker thread, as a Promise. The arrays are copied into
 * tensors before it returns. `signal`: an AbortSignal already aborted rejects with an AbortError
 * (code `'ABORT_ERR'`) and computes nothing; a started call runs to completion.
 *
 * @throws (rejects) as {@link computeLossTorch}; TypeError when `signal` is not an AbortSignal.
 * @example
 * ```ts
 * const { value } = await computeLossTorchAsync([{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }],
 *   { logits, target, shape: [2, 3, 64, 64] });
 * ```
 */
export function computeLossTorchAsync<T extends LogitsArray, L extends LossName>(
  loss: L,
  input: LossInput<T>,
  options: LossOptions<L> & TorchLossOptions & AsyncLossOptions & { readonly grad: true },
): Promise<LossResultWithGrad<T>>;
export function computeLossTorchAsync<T extends LogitsArray, L extends LossName>(
  loss: L,
  input: LossInput<T>,
  options?: LossOptions<L> & TorchLossOptions & AsyncLossOptions,
): Promise<LossResult<T>>;
export function computeLossTorchAsync<T extends LogitsArray>(
  loss: readonly LossTerm[],
  input: LossInput<T>,
  options: CommonLossOptions & TorchLossOptions & AsyncLossOptions & { readonly grad: true },
): Promise<LossResultWithGrad<T>>;
export function computeLossTorchAsync<T extends LogitsArray>(
  loss: readonly LossTerm[],
  input: LossInput<T>,
  options?: CommonLossOptions & TorchLossOptions & AsyncLossOptions,
): Promise<LossResult<T>>;
export async function computeLossTorchAsync(loss: unknown, input: unknown, options?: unknown): Promise<LossResult> {
  const call = prepareTorchCall(loss, input, options, ['signal']);
  const signal = checkSignal(options);
  if (signal?.aborted) {
    throw Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
      name: 'AbortError',
      code: 'ABORT_ERR',
    });
  }
  const { logits, target, shape } = call.input;
  return toResult(await call.addon.lossBackwardAsync(logits, target, shape, call.request, call.device, call.grad, torchExtra(call)));
}
