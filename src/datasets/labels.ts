/** Turning arrays read from files into the Trainer's images (float32) and labels (uint8 / uint16). */
import type { NdArray } from './npy';
import { DatasetError } from './types';

/** Any numeric array as float32 (non-finite values are an error naming the file). */
export function imageValues(array: NdArray, file: string, what: string): Float32Array {
  const out = new Float32Array(array.values.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(array.values[i]);
    if (!Number.isFinite(v)) throw new DatasetError(file, `${what} holds ${v} at index ${i}`);
    out[i] = v;
  }
  return out;
}

/**
 * Labels as integers in [0, numClasses) or `ignoreIndex`: uint8 below 256 classes, else uint16.
 * A fractional, negative or too-large label is an error naming the file, the value and its index.
 */
export function labelValues(array: NdArray, file: string, numClasses: number, ignoreIndex?: number): Uint8Array | Uint16Array {
  const out = numClasses <= 256 && (ignoreIndex ?? 0) < 256 ? new Uint8Array(array.values.length) : new Uint16Array(array.values.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(array.values[i]);
    if (!(Number.isInteger(v) && ((v >= 0 && v < numClasses) || v === ignoreIndex))) {
      const allowed = `integers in [0, ${numClasses})${ignoreIndex === undefined ? '' : ` or ${ignoreIndex}`}`;
      throw new DatasetError(file, `label ${v} at index ${i}; expected ${allowed}`);
    }
    out[i] = v;
  }
  return out;
}

/** Checks an array's shape: its last two axes H × W, with `ndim` axes. */
export function checkShape(array: NdArray, file: string, what: string, ndim: number): void {
  if (array.shape.length !== ndim) throw new DatasetError(file, `${what} has shape (${array.shape.join(', ')}); expected ${ndim} axes`);
}
