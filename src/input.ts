/**
 * Checks of a loss call's tensors: array types, shape, lengths, labels and finite logits.
 * Messages name the argument, what was expected and what was received; positions are given as
 * [b, h, w] (or [b, d, h, w]) for labels and [b, c, h, w] for logits.
 */
import type { LogitsArray, TargetArray } from './types';
import { describe, is, rangeError, rangeErrorText, typeError } from './validate';

/** A checked input: the arrays, the shape and its [B, C, N] view. */
export interface CheckedInput {
  readonly logits: LogitsArray; // [B, C, ...spatial]
  readonly target: TargetArray; // [B, ...spatial]
  readonly shape: readonly number[]; // [B, C, H, W] or [B, C, D, H, W]
  readonly batch: number; // B
  readonly channels: number; // C
  readonly pixels: number; // N = H·W or D·H·W
  readonly classes: number; // K = C, or 2 when C = 1
}

const LOGITS_TYPES = 'Float32Array or Float64Array';
const TARGET_TYPES = 'Uint8Array, Uint16Array or Int32Array';
const SHAPE_FORMS = '[B, C, H, W] or [B, C, D, H, W]';
/** The largest C the core accepts (it counts classes in a 32-bit int). */
export const MAX_CHANNELS = 2 ** 31 - 1;

function isLogitsArray(value: unknown): value is LogitsArray {
  return value instanceof Float32Array || value instanceof Float64Array;
}

function isTargetArray(value: unknown): value is TargetArray {
  return value instanceof Uint8Array || value instanceof Uint16Array || value instanceof Int32Array;
}

function axisNames(rank: number): string[] {
  return rank === 5 ? ['B', 'C', 'D', 'H', 'W'] : ['B', 'C', 'H', 'W'];
}

function checkShape(shape: unknown): number[] {
  if (!Array.isArray(shape)) throw typeError(`an array ${SHAPE_FORMS}`, 'shape', shape);
  if (shape.length !== 4 && shape.length !== 5) {
    throw rangeErrorText(`4 or 5 entries (${SHAPE_FORMS})`, 'shape', `${shape.length} entries: ${describe(shape)}`);
  }
  const axes = axisNames(shape.length);
  shape.forEach((entry: unknown, i) => {
    const name = `shape[${i}] (${axes[i]})`;
    if (!is.number(entry)) throw typeError('a positive integer', name, entry);
    if (!is.integer(entry) || entry <= 0) throw rangeError('a positive integer', name, entry);
  });
  if (shape[1] > MAX_CHANNELS) throw rangeError(`a positive integer ≤ ${MAX_CHANNELS}`, 'shape[1] (C)', shape[1]);
  return shape as number[];
}

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

function checkLength(array: ArrayLike<number>, expected: number, what: string, name: string): void {
  if (array.length !== expected) throw rangeErrorText(`length ${expected} (${what})`, name, `length ${array.length}`);
}

/** Checks `input` = { logits, target, shape }: types, shape entries and lengths (not the values). */
export function checkLossInput(input: unknown): CheckedInput {
  if (!is.object(input)) throw typeError('an object { logits, target, shape }', 'input', input);
  const { logits, target } = input;
  if (!isLogitsArray(logits)) throw typeError(LOGITS_TYPES, 'logits', logits);
  if (!isTargetArray(target)) throw typeError(TARGET_TYPES, 'target', target);
  const shape = checkShape(input.shape);
  const [batch, channels, ...spatial] = shape;
  const pixels = product(spatial);
  const axes = axisNames(shape.length);
  const shapeText = `[${shape.join(', ')}]`;
  checkLength(logits, batch * channels * pixels, `${axes.join('·')} of shape ${shapeText}`, 'logits');
  const targetAxes = [axes[0], ...axes.slice(2)].join('·');
  checkLength(target, batch * pixels, `${targetAxes} of shape ${shapeText}`, 'target');
  return { logits, target, shape, batch, channels, pixels, classes: channels === 1 ? 2 : channels };
}

/** Flat index into [d0, d1, ...] → its coordinates. */
function unravel(index: number, dims: readonly number[]): number[] {
  const coords = new Array<number>(dims.length);
  for (let k = dims.length - 1; k >= 0; --k) {
    coords[k] = index % dims[k];
    index = Math.floor(index / dims[k]);
  }
  return coords;
}

/** First flat index of a label outside [0, classes) that is not `ignoreIndex`, or −1. */
export function findInvalidLabel(target: TargetArray, classes: number, ignoreIndex: number | null): number {
  const ignore = ignoreIndex ?? Number.NaN;
  for (let j = 0; j < target.length; ++j) {
    const v = target[j];
    if ((v < 0 || v >= classes) && v !== ignore) return j;
  }
  return -1;
}

/** RangeError for the first label outside [0, K) that is not the ignore index, naming [b, h, w]. */
export function checkLabels(input: CheckedInput, ignoreIndex: number | null): void {
  const bad = findInvalidLabel(input.target, input.classes, ignoreIndex);
  if (bad < 0) return;
  const [batch, , ...spatial] = input.shape;
  const dims = [batch, ...spatial];
  const names = axisNames(input.shape.length).filter((a) => a !== 'C').map((a) => a.toLowerCase());
  const where = `[${names.join(', ')}] = [${unravel(bad, dims).join(', ')}]`;
  const allowed = ignoreIndex === null ? `[0, ${input.classes})` : `[0, ${input.classes}) or the ignoreIndex ${ignoreIndex}`;
  const why = input.channels === 1 ? ' (K = 2 for one channel)' : '';
  throw rangeErrorText(`class indices in ${allowed}${why}`, 'target', `${input.target[bad]} at ${where}`);
}

/** First index of a NaN or ±Infinity in `values`, or −1. */
export function findNonFinite(values: LogitsArray): number {
  for (let i = 0; i < values.length; ++i) {
    const v = values[i];
    if (v - v !== 0) return i;
  }
  return -1;
}

/** RangeError for the first non-finite logit, naming its index and [b, c, h, w]. */
export function checkFiniteLogits(input: CheckedInput): void {
  const bad = findNonFinite(input.logits);
  if (bad < 0) return;
  const names = axisNames(input.shape.length).map((a) => a.toLowerCase());
  const where = `[${names.join(', ')}] = [${unravel(bad, input.shape).join(', ')}]`;
  throw rangeErrorText('finite values', 'logits', `${input.logits[bad]} at index ${bad} (${where})`);
}
