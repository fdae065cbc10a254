/**
 * Exact Euclidean distance transforms, the boundary losses' distance maps and binary morphology
 * on raw typed arrays, computed by the core addon (native/core/geometry, threaded on the CPU).
 */
import { checkSignal, throwIfAborted, withCallerStack } from './abort';
import { geometryAddon, type NativeDistanceMapKind, type NativeGrid, type NativeMorphologyOp } from './native/geometry';
import { checkGrid, checkMask, checkOptionsObject, gridElements, type SpatialOptions } from './spatial-input';
import { describe, is, quoteList, rangeError, rangeErrorText, typeError } from './validate';

export type { SpatialOptions } from './spatial-input';

/** Options of {@link distanceTransform}. */
export interface DistanceTransformOptions extends SpatialOptions {
  /** Return a Float32Array (computed in float64, rounded at the end). Default false: Float64Array. */
  readonly float32?: boolean;
  /**
   * Write the result into this array (of the mask's length, not overlapping the mask) and return
   * it, instead of allocating one: reusing an output skips the page faults of fresh memory in loops. Its type decides the
   * precision (`float32`, when also given, must agree). Default: a new array.
   */
  readonly out?: Float64Array | Float32Array;
}

/** Options of {@link distanceTransformAsync}. */
export interface DistanceTransformAsyncOptions extends DistanceTransformOptions {
  /** Already aborted: the promise rejects with an AbortError and nothing runs. */
  readonly signal?: AbortSignal;
}

const DT_OPTIONS = ['dims', 'spacing', 'float32', 'out'] as const;

interface DistanceTransformCall {
  readonly mask: Uint8Array;
  readonly grid: NativeGrid;
  readonly out: Float64Array | Float32Array;
}

function prepareDistanceTransform(mask: unknown, shape: unknown, options: unknown, fn: string, extra: readonly string[]): DistanceTransformCall {
  const opts = checkOptionsObject(options, [...DT_OPTIONS, ...extra], fn);
  const grid = checkGrid(shape, opts);
  const checked = checkMask(mask, 'mask', grid, shape as number[]);
  if (opts.float32 !== undefined && !is.bool(opts.float32)) throw typeError('a boolean', 'float32', opts.float32);
  const n = gridElements(grid);
  if (opts.out === undefined) return { mask: checked, grid, out: opts.float32 ? new Float32Array(n) : new Float64Array(n) };
  return { mask: checked, grid, out: checkOut(opts.out, opts.float32, n, checked) };
}

function checkOut(out: unknown, float32: unknown, n: number, mask: Uint8Array): Float64Array | Float32Array {
  if (!(out instanceof Float64Array || out instanceof Float32Array)) throw typeError('a Float64Array or Float32Array', 'out', out);
  if (out.length !== n) throw rangeErrorText(`length ${n} (the mask's length)`, 'out', `length ${out.length}`);
  if (float32 !== undefined && float32 !== out instanceof Float32Array) {
    throw rangeErrorText(`a ${float32 ? 'Float32Array' : 'Float64Array'} (float32: ${String(float32)})`, 'out', describe(out));
  }
  // Overlapping the mask, the distances of one map would overwrite the masks of the next.
  const overlaps = out.buffer === mask.buffer && out.byteOffset < mask.byteOffset + mask.byteLength && mask.byteOffset < out.byteOffset + out.byteLength;
  if (overlaps) throw rangeErrorText('an array that does not overlap the mask', 'out', 'a view overlapping mask');
  return out;
}

/**
 * Exact Euclidean distance transform of binary masks, the semantics of scipy's
 * `ndimage.distance_transform_edt(mask, sampling=spacing)`: every non-zero element gets the
 * (physical) distance to the nearest zero element of its map, zero elements get 0.
 *
 * **One difference from scipy:** a map with no zero element has no finite distance, and every
 * element of it is `Infinity` (scipy measures to a point outside the array).
 *
 * Algorithm: separable lower-envelope passes (Felzenszwalb & Huttenlocher 2012), O(elements),
 * exact to float64 rounding; threaded over maps and lines (`SEGLOSS_NUM_THREADS`, default all cores).
 *
 * @param mask Uint8Array, non-zero = inside; row-major with `shape`.
 * @param shape `[H, W]` or `[D, H, W]`, or a batch `[N, H, W]` / `[N, D, H, W]` with `dims`.
 * @param options `dims` (2 | 3, default: every entry of `shape` is spatial), `spacing` (one
 *   positive number per spatial axis, default 1), `float32` (default false), `out` (an array to
 *   write into, default: a new one).
 * @returns Float64Array (Float32Array with `float32: true`) of the mask's length (`out` when given).
 * @throws TypeError / RangeError (code `'SEGLOSS_INVALID_ARGUMENT'`) for a mask that is not a
 *   Uint8Array or whose length is not the product of `shape`, a shape of the wrong rank or with
 *   an entry that is not a positive integer, `dims` not 2 / 3 or larger than the rank, `spacing`
 *   of the wrong length or with an entry outside [1e-12, 1e12], an `out` of the wrong type or
 *   length, an unknown option.
 * @example
 * ```ts
 * const mask = new Uint8Array([0, 1, 1, 1]);
 * distanceTransform(mask, [1, 4]);                       // Float64Array [0, 1, 2, 3]
 * distanceTransform(mask, [1, 4], { spacing: [1, 0.5] }); // [0, 0.5, 1, 1.5]
 * ```
 */
export function distanceTransform(mask: Uint8Array, shape: readonly number[], options: DistanceTransformOptions & { readonly float32: true }): Float32Array;
export function distanceTransform(mask: Uint8Array, shape: readonly number[], options: DistanceTransformOptions & { readonly out: Float32Array }): Float32Array;
export function distanceTransform(mask: Uint8Array, shape: readonly number[], options?: DistanceTransformOptions): Float64Array;
export function distanceTransform(mask: unknown, shape: unknown, options?: unknown): Float64Array | Float32Array {
  const call = prepareDistanceTransform(mask, shape, options, 'distanceTransform', []);
  geometryAddon().distanceTransform(call.mask, call.grid, call.out);
  return call.out;
}

/**
 * {@link distanceTransform} on a libuv worker thread, for long batches: the same results and
 * errors, as a Promise (validation errors reject it). The mask is copied when the call starts,
 * so the caller may reuse it at once. An `out` array is written when the call completes (the
 * worker fills its own copy): read it only after the promise settles, and give each pending call
 * its own; transferring or detaching it meanwhile rejects the promise (code `'SEGLOSS_NATIVE'`).
 *
 * `signal`: an AbortSignal that is already aborted rejects with an `AbortError` (code
 * `'ABORT_ERR'`, the signal's reason as `cause`) and computes nothing; a started call runs to the end.
 *
 * @example
 * ```ts
 * const d = await distanceTransformAsync(masks, [32, 512, 512], { dims: 2, signal });
 * ```
 */
export function distanceTransformAsync(
  mask: Uint8Array,
  shape: readonly number[],
  options: DistanceTransformAsyncOptions & { readonly float32: true },
): Promise<Float32Array>;
export function distanceTransformAsync(
  mask: Uint8Array,
  shape: readonly number[],
  options: DistanceTransformAsyncOptions & { readonly out: Float32Array },
): Promise<Float32Array>;
export function distanceTransformAsync(mask: Uint8Array, shape: readonly number[], options?: DistanceTransformAsyncOptions): Promise<Float64Array>;
export async function distanceTransformAsync(mask: unknown, shape: unknown, options?: unknown): Promise<Float64Array | Float32Array> {
  const callerStack = new Error().stack;
  const call = prepareDistanceTransform(mask, shape, options, 'distanceTransformAsync', ['signal']);
  throwIfAborted(checkSignal(options));
  await withCallerStack(geometryAddon().distanceTransformAsync(call.mask, call.grid, call.out), callerStack);
  return call.out;
}

/** The per-class distance maps of the boundary-level losses, named by the loss that uses them. */
export type DistanceMapKind = 'boundary' | 'region-wise' | 'hausdorff-dt' | 'distance-map-ce';

const MAP_KINDS: Record<DistanceMapKind, NativeDistanceMapKind> = {
  boundary: 'boundary',
  'region-wise': 'region-wise',
  'hausdorff-dt': 'hausdorff',
  'distance-map-ce': 'penalty',
};

/**
 * A distance map of each binary mask (one class of one image), in the convention of a loss of
 * the spec (distances physical, with `spacing`). No NaN or Infinity for any mask:
 * - `'boundary'` (Kervadec et al. 2019, LIVIAETS `one_hot2dist`): +distance to the class outside
 *   it, −(distance to the outside − 1) inside; 0 everywhere for an empty or a full mask.
 * - `'region-wise'` (Valverde et al. 2023, rectified map): −d / max d inside (d the distance to
 *   the outside, max over the map's inside), +1 outside; +1 everywhere for an empty mask, −1
 *   everywhere for a full one.
 * - `'hausdorff-dt'` (Karimi & Salcudean 2019): edt(mask) + edt(¬mask), the distance to the other
 *   side; 0 everywhere for an empty or full mask.
 * - `'distance-map-ce'` (Calivá et al. 2019): the penalty Φ ∈ [0, 1], (max d − d) / max d on each
 *   side, d the distance to the other side, max over that side; the CE weight is 1 + Φ; 0 for an
 *   empty or full mask.
 *
 * @param mask Uint8Array, non-zero = the class; `shape` and `options` as {@link distanceTransform}.
 * @returns Float64Array of the mask's length.
 * @throws TypeError / RangeError as {@link distanceTransform}, and for an unknown `kind`.
 * @example
 * ```ts
 * distanceMap('boundary', new Uint8Array([0, 1, 1, 0]), [1, 4]); // [1, 0, 0, 1]
 * ```
 */
export function distanceMap(kind: DistanceMapKind, mask: Uint8Array, shape: readonly number[], options?: SpatialOptions): Float64Array {
  if (!is.oneOf(kind, Object.keys(MAP_KINDS) as DistanceMapKind[])) {
    throw (is.string(kind) ? rangeError : typeError)(`one of ${quoteList(Object.keys(MAP_KINDS))}`, 'kind', kind);
  }
  const opts = checkOptionsObject(options, ['dims', 'spacing'], 'distanceMap');
  const grid = checkGrid(shape, opts);
  const checked = checkMask(mask, 'mask', grid, shape);
  const out = new Float64Array(gridElements(grid));
  geometryAddon().distanceMap(MAP_KINDS[kind], checked, grid, out);
  return out;
}

/** Binary morphology operations of {@link binaryMorphology}. */
export type MorphologyOp = 'erode' | 'dilate' | 'inner-boundary' | 'outer-boundary';

/** Options of {@link binaryMorphology}. */
export interface MorphologyOptions {
  /** As in {@link SpatialOptions}. */
  readonly dims?: 2 | 3;
  /** Neighbourhood: 4 or 8 in 2-D, 6 or 26 in 3-D. Default 4 / 6 (the cross, scipy's default). */
  readonly connectivity?: 4 | 8 | 6 | 26;
}

const MORPHOLOGY_OPS: Record<MorphologyOp, NativeMorphologyOp> = {
  erode: 'erode',
  dilate: 'dilate',
  'inner-boundary': 'inner',
  'outer-boundary': 'outer',
};

function checkConnectivity(value: unknown, dims: 2 | 3): 1 | 2 {
  const [face, full] = dims === 2 ? [4, 8] : [6, 26];
  if (value === undefined || value === face) return 1;
  if (value === full) return 2;
  throw (is.number(value) ? rangeError : typeError)(`${face} or ${full} (${dims}-D)`, 'connectivity', value);
}

/**
 * Binary erosion / dilation by the elementary neighbourhood, and the boundaries built from them:
 * `'inner-boundary'` = mask ∧ ¬erode(mask) (inside elements with an outside neighbour),
 * `'outer-boundary'` = dilate(mask) ∧ ¬mask. Outside the array counts as background (scipy's
 * `border_value=0`), so inside elements on the array's edge are eroded and on the inner boundary.
 * With connectivity 4 / 6, `'inner-boundary'` is medpy's surface (mask ^ binary_erosion(mask)).
 *
 * @param mask Uint8Array, non-zero = inside; `shape` as {@link distanceTransform}.
 * @returns Uint8Array of 0 / 1 of the mask's length.
 * @throws TypeError / RangeError as {@link distanceTransform}, for an unknown `op` or a
 *   connectivity that is not 4 / 8 (2-D) or 6 / 26 (3-D).
 * @example
 * ```ts
 * binaryMorphology('inner-boundary', mask, [H, W], { connectivity: 8 });
 * ```
 */
export function binaryMorphology(op: MorphologyOp, mask: Uint8Array, shape: readonly number[], options?: MorphologyOptions): Uint8Array {
  if (!is.oneOf(op, Object.keys(MORPHOLOGY_OPS) as MorphologyOp[])) {
    throw (is.string(op) ? rangeError : typeError)(`one of ${quoteList(Object.keys(MORPHOLOGY_OPS))}`, 'op', op);
  }
  const opts = checkOptionsObject(options, ['dims', 'connectivity'], 'binaryMorphology');
  const grid = checkGrid(shape, { dims: opts.dims });
  const checked = checkMask(mask, 'mask', grid, shape);
  const connectivity = checkConnectivity(opts.connectivity, grid.spatialDims);
  const out = new Uint8Array(gridElements(grid));
  geometryAddon().morphology(MORPHOLOGY_OPS[op], checked, grid, connectivity, out);
  return out;
}
