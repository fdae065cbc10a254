/**
 * Validation of the (mask, shape, { dims, spacing }) arguments shared by the distance transforms,
 * distance maps, morphology and metrics, into the flat grid the core addon takes.
 */
import type { NativeGrid } from './native/geometry';
import { checkKnownKeys, describe, is, rangeError, rangeErrorText, typeError } from './validate';

/** Spatial options every geometry call takes. */
export interface SpatialOptions {
  /**
   * How many trailing entries of `shape` are spatial: 2 ([H, W]) or 3 ([D, H, W]); a leading
   * entry before them is a batch of maps. Default: all entries (so `shape` has 2 or 3 entries).
   */
  readonly dims?: 2 | 3;
  /** Physical step per spatial axis ([sH, sW] or [sD, sH, sW]), each > 0 and ≤ 1e300. Default 1. */
  readonly spacing?: readonly number[];
}

/** The largest spacing the native grid accepts (native/core/geometry/grid.h). */
const MAX_SPACING = 1e300;

const SHAPE_FORMS = '[H, W], [D, H, W], or [N, H, W] / [N, D, H, W] with dims';

/** `options` as an object with only the listed keys (undefined → {}). */
export function checkOptionsObject(options: unknown, valid: readonly string[], fn: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (!is.object(options)) throw typeError('an object', 'options', options);
  checkKnownKeys(options, valid, `an option name of ${fn}`);
  return options;
}

function checkShapeEntries(shape: unknown): number[] {
  if (!Array.isArray(shape)) throw typeError(`an array ${SHAPE_FORMS}`, 'shape', shape);
  shape.forEach((entry: unknown, i) => {
    if (!is.number(entry)) throw typeError('a positive integer', `shape[${i}]`, entry);
    if (!is.integer(entry) || entry <= 0) throw rangeError('a positive integer', `shape[${i}]`, entry);
  });
  return shape as number[];
}

function checkDims(dims: unknown, rank: number): 2 | 3 {
  if (dims === undefined) {
    if (rank !== 2 && rank !== 3) {
      throw rangeErrorText(`2 or 3 entries (${SHAPE_FORMS})`, 'shape', `${rank} entries`);
    }
    return rank as 2 | 3;
  }
  if (!is.number(dims)) throw typeError('2 or 3', 'dims', dims);
  if (dims !== 2 && dims !== 3) throw rangeError('2 or 3', 'dims', dims);
  if (dims > rank) throw rangeErrorText(`at most the rank of shape (${rank})`, 'dims', String(dims));
  if (rank > dims + 1) {
    throw rangeErrorText(`${dims} or ${dims + 1} entries with dims ${dims} (${SHAPE_FORMS})`, 'shape', `${rank} entries`);
  }
  return dims;
}

function checkSpacing(spacing: unknown, dims: 2 | 3): [number, number, number] {
  if (spacing === undefined) return [1, 1, 1];
  if (!Array.isArray(spacing)) throw typeError(`an array of ${dims} positive numbers`, 'spacing', spacing);
  if (spacing.length !== dims) {
    throw rangeErrorText(`${dims} entries (one per spatial dimension)`, 'spacing', `${spacing.length} entries: ${describe(spacing)}`);
  }
  spacing.forEach((s: unknown, i) => {
    if (!is.number(s)) throw typeError('a positive number', `spacing[${i}]`, s);
    if (!(Number.isFinite(s) && s > 0)) throw rangeError('a finite number > 0', `spacing[${i}]`, s);
    if (s > MAX_SPACING) throw rangeError('a spacing ≤ 1e300 (squared distances must stay finite)', `spacing[${i}]`, s);
  });
  return dims === 3 ? [spacing[0], spacing[1], spacing[2]] : [1, spacing[0], spacing[1]];
}

/** `shape` and the spatial options, checked, as the native grid. */
export function checkGrid(shape: unknown, options: Record<string, unknown>): NativeGrid {
  const entries = checkShapeEntries(shape);
  const dims = checkDims(options.dims, entries.length);
  const spacing = checkSpacing(options.spacing, dims);
  const spatial = entries.slice(entries.length - dims);
  const maps = entries.length > dims ? entries[0] : 1;
  const [depth, height, width] = dims === 3 ? spatial : [1, spatial[0], spatial[1]];
  return { maps, spatialDims: dims, depth, height, width, spacing };
}

/** Elements of all maps of the grid. */
export function gridElements(grid: NativeGrid): number {
  return grid.maps * grid.depth * grid.height * grid.width;
}

/** TypeError unless `mask` is a Uint8Array; RangeError unless its length is the product of shape. */
export function checkMask(mask: unknown, name: string, grid: NativeGrid, shape: readonly number[]): Uint8Array {
  if (!(mask instanceof Uint8Array)) throw typeError('a Uint8Array', name, mask);
  const expected = gridElements(grid);
  if (mask.length !== expected) {
    throw rangeErrorText(`length ${expected} (the product of shape ${describe([...shape])})`, name, `length ${mask.length}`);
  }
  return mask;
}
