/**
 * The inverse-transformation network of `inverseform`: the weights shipped with segloss
 * (native/weights/inverseform-net.bin), reading and writing weight files, and its native training
 * on boundary maps of real masks (`segloss train-inverseform`, docs/losses.md).
 *
 * Weight file: 'SLIF', uint32 version 1, uint32 parameter count, then the float32 parameters
 * (little-endian). Mask file: 'SLMK', uint32 version 1, count, height, width, then the masks'
 * bits (numpy packbits order, 1 = inside).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { INVERSEFORM_PARAMETER_COUNT } from './losses/inverseform';
import { coreAddon, packageRoot } from './native/core';
import { is, rangeError, rangeErrorText, typeError } from './validate';

/** The network's parameter count. */
export const inverseFormParameterCount = INVERSEFORM_PARAMETER_COUNT;

/** Where the shipped network and training masks are. */
export const inverseFormWeightsPath: string = path.join(packageRoot, 'native', 'weights', 'inverseform-net.bin');
export const inverseFormMasksPath: string = path.join(packageRoot, 'native', 'weights', 'inverseform-masks.bin');

let shipped: Float32Array | undefined;

/** The shipped network's parameters (read once). */
export function defaultInverseFormNetwork(): Float32Array {
  shipped ??= loadInverseFormNetwork(inverseFormWeightsPath);
  return shipped;
}

/**
 * Reads a weight file written by `segloss train-inverseform` (or {@link saveInverseFormNetwork}).
 * @throws RangeError when the file is not a segloss InverseForm weight file of the right size.
 */
export function loadInverseFormNetwork(file: string): Float32Array {
  if (!is.string(file)) throw typeError('a file path', 'file', file);
  const bytes = fs.readFileSync(file);
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'SLIF' || bytes.readUInt32LE(4) !== 1) {
    throw rangeErrorText("a segloss InverseForm weight file ('SLIF', version 1)", 'file', file);
  }
  const count = bytes.readUInt32LE(8);
  if (count !== INVERSEFORM_PARAMETER_COUNT || bytes.length !== 12 + 4 * count) {
    throw rangeErrorText(`${INVERSEFORM_PARAMETER_COUNT} parameters`, 'file', `${count} parameters in ${bytes.length} bytes`);
  }
  const out = new Float32Array(count);
  for (let i = 0; i < count; ++i) out[i] = bytes.readFloatLE(12 + 4 * i);
  return out;
}

/** Writes `network` as a weight file. */
export function saveInverseFormNetwork(network: Float32Array, file: string): void {
  if (!(network instanceof Float32Array) || network.length !== INVERSEFORM_PARAMETER_COUNT) {
    throw typeError(`a Float32Array of ${INVERSEFORM_PARAMETER_COUNT} parameters`, 'network', network);
  }
  const bytes = Buffer.alloc(12 + 4 * network.length);
  bytes.write('SLIF', 0, 'latin1');
  bytes.writeUInt32LE(1, 4);
  bytes.writeUInt32LE(network.length, 8);
  network.forEach((v, i) => bytes.writeFloatLE(v, 12 + 4 * i));
  fs.writeFileSync(file, bytes);
}

/** Binary masks [count, height, width] (1 = inside). */
export interface InverseFormMasks {
  readonly masks: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
}

/** Reads a mask file ('SLMK'); default: the masks the shipped network was trained on. */
export function loadInverseFormMasks(file: string = inverseFormMasksPath): InverseFormMasks {
  const bytes = fs.readFileSync(file);
  if (bytes.length < 20 || bytes.toString('latin1', 0, 4) !== 'SLMK' || bytes.readUInt32LE(4) !== 1) {
    throw rangeErrorText("a segloss mask file ('SLMK', version 1)", 'file', file);
  }
  const count = bytes.readUInt32LE(8), height = bytes.readUInt32LE(12), width = bytes.readUInt32LE(16);
  const n = count * height * width;
  if (bytes.length !== 20 + Math.ceil(n / 8)) throw rangeErrorText(`${Math.ceil(n / 8)} bytes of mask bits`, 'file', `${bytes.length - 20}`);
  const masks = new Uint8Array(n);
  for (let i = 0; i < n; ++i) masks[i] = (bytes[20 + (i >> 3)] >> (7 - (i & 7))) & 1;
  return { masks, count, height, width };
}

/** Options of {@link trainInverseForm} (defaults: those the shipped network was trained with). */
export interface TrainInverseFormOptions {
  /** Masks to take boundary maps from; default the shipped training masks. */
  readonly masks?: InverseFormMasks;
  /** Optimisation steps (Adam). Default `6000`. */
  readonly steps?: number;
  /** Samples per step. Default `32`. */
  readonly batch?: number;
  /** Adam's step size. Default `1e-3`. */
  readonly learningRate?: number;
  /** The sample and initialisation stream. Default `1`. */
  readonly seed?: number;
  /** Warps: shift (pixels), relative scale, rotation (degrees). Defaults `4`, `0.15`, `15`. */
  readonly maxShift?: number;
  readonly maxScale?: number;
  readonly maxRotation?: number;
  /** Called every 100 steps with the mean regression loss since the last call. */
  readonly onProgress?: (step: number, loss: number) => void;
}

/** The trained parameters, with the held-out check (1000 fresh samples). */
export type TrainedInverseFormNetwork = Float32Array & { readonly meanError: number; readonly meanTarget: number };

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!is.number(value)) throw typeError('a positive integer', name, value);
  if (!is.integer(value) || value < 1) throw rangeError('a positive integer', name, value);
  return value;
}

function nonNegative(value: unknown, name: string, fallback: number, max = Infinity): number {
  if (value === undefined) return fallback;
  if (!is.number(value)) throw typeError('a number', name, value);
  if (!(value >= 0 && value <= max)) throw rangeError(`a number in [0, ${max}]`, name, value);
  return value;
}

/**
 * Trains the inverse-transformation network natively (a libuv worker thread; about a minute of
 * CPU for the defaults): random affine warps of 32×32 tiles of the masks' boundary maps, and
 * regression of the warp parameters (native/core/standalone/inverse_form_training.h).
 * @example
 * ```ts
 * const network = await trainInverseForm({ steps: 6000, seed: 1 });
 * saveInverseFormNetwork(network, 'inverseform-net.bin');
 * computeLoss('inverseform', input, { network });
 * ```
 */
export function trainInverseForm(optionsIn: TrainInverseFormOptions = {}): Promise<TrainedInverseFormNetwork> {
  if (!is.object(optionsIn)) return Promise.reject(typeError('an object', 'options', optionsIn));
  const options = optionsIn as TrainInverseFormOptions;
  try {
    const masks = options.masks ?? loadInverseFormMasks();
    const native = {
      steps: positiveInteger(options.steps, 'steps', 6000),
      batch: positiveInteger(options.batch, 'batch', 32),
      learningRate: nonNegative(options.learningRate, 'learningRate', 1e-3),
      seed: nonNegative(options.seed, 'seed', 1),
      maxShift: nonNegative(options.maxShift, 'maxShift', 4, 64),
      maxScale: nonNegative(options.maxScale, 'maxScale', 0.15, 0.9),
      maxRotation: nonNegative(options.maxRotation, 'maxRotation', 15, 90),
    };
    if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw typeError('a function', 'onProgress', options.onProgress);
    return coreAddon().trainInverseForm(masks.masks, [masks.count, masks.height, masks.width], native, options.onProgress ?? null);
  } catch (error) {
    return Promise.reject(error);
  }
}
