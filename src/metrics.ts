/**
 * The survey's evaluation metrics, computed by the core addon (native/core/geometry/
 * segmentation_metrics.h): DSC and HD95 as TransUNet reports them on Synapse (medpy's `dc` and
 * `hd95` inside `calculate_metric_percase` / `test_single_volume`), and the confusion matrix and
 * mean IoU of the Cityscapes evaluation.
 */
import { checkSignal, throwIfAborted, withCallerStack } from './abort';
import { geometryAddon, type LabelArray, type NativeGrid } from './native/geometry';
import { checkGrid, checkMask, checkOptionsObject, gridElements } from './spatial-input';
import { describe, is, quoteList, rangeError, rangeErrorText, typeError } from './validate';

export type { LabelArray } from './native/geometry';

/**
 * What DSC and HD95 are when a mask is empty.
 * - `'transunet'` (default), TransUNet's `calculate_metric_percase`: prediction and target
 *   non-empty → (DSC, HD95); prediction non-empty and target empty → (1, 0); prediction empty →
 *   (0, 0), whatever the target (both empty included).
 * - `'strict'`: both empty → (1, 0) (perfect agreement); exactly one empty → (0, Infinity) (no
 *   overlap; the Hausdorff distance to an empty set is infinite); both non-empty → (DSC, HD95).
 */
export type EmptyMaskPolicy = 'transunet' | 'strict';

/** Options of {@link metrics.dice}. */
export interface DiceMetricOptions {
  /** Edge cases of empty masks. Default `'transunet'`. */
  readonly policy?: EmptyMaskPolicy;
}

/** Options of {@link metrics.hausdorff95} and the volume evaluation. */
export interface SurfaceMetricOptions extends DiceMetricOptions {
  /** Physical voxel size per spatial axis ([sH, sW] or [sD, sH, sW]; medpy's `voxelspacing`). Default 1. */
  readonly spacing?: readonly number[];
}

/** Options of {@link metrics.evaluateVolumeAsync}. */
export interface AsyncSurfaceMetricOptions extends SurfaceMetricOptions {
  /** Already aborted: the promise rejects with an AbortError and nothing runs. */
  readonly signal?: AbortSignal;
}

/** Options of the confusion-matrix metrics. */
export interface ConfusionMatrixOptions {
  /** Pixels whose target label equals it are skipped (whatever their prediction). Default: none. */
  readonly ignoreIndex?: number;
}

/** {@link metrics.meanIoU}'s result. */
export interface MeanIoUResult {
  /** Mean of perClassIoU over the classes present in the prediction or the target; NaN when none is. */
  readonly meanIoU: number;
  /** TP / (TP + FP + FN) per class; NaN for a class absent from both prediction and target. */
  readonly perClassIoU: Float64Array;
}

/** {@link metrics.evaluateVolume}'s result: TransUNet's per-volume metric list. */
export interface VolumeMetrics {
  /** DSC of classes 1 … numClasses − 1 (index c − 1), [numClasses − 1]. */
  readonly dice: Float64Array;
  /** HD95 of classes 1 … numClasses − 1, [numClasses − 1], in spacing units. */
  readonly hd95: Float64Array;
  /** Mean of `dice` over the foreground classes. */
  readonly meanDice: number;
  /** Mean of `hd95` over the foreground classes (Infinity under `'strict'` when one is infinite). */
  readonly meanHd95: number;
}

const POLICIES: readonly EmptyMaskPolicy[] = ['transunet', 'strict'];
const MAX_CLASSES = 4096;

function checkPolicy(value: unknown): 0 | 1 {
  if (value === undefined) return 0;
  if (!is.oneOf(value, POLICIES)) throw (is.string(value) ? rangeError : typeError)(`one of ${quoteList(POLICIES)}`, 'policy', value);
  return value === 'strict' ? 1 : 0;
}

function checkMaskPair(pred: unknown, target: unknown, shape: unknown, opts: Record<string, unknown>): NativeGrid {
  const grid = checkGrid(shape, { spacing: opts.spacing });
  checkMask(pred, 'pred', grid, shape as number[]);
  checkMask(target, 'target', grid, shape as number[]);
  return grid;
}

function isLabelArray(value: unknown): value is LabelArray {
  return value instanceof Uint8Array || value instanceof Uint16Array || value instanceof Int32Array;
}

const LABEL_TYPES = 'a Uint8Array, Uint16Array or Int32Array';

/** pred and target as label arrays of one type (Int32Array copies when their types differ). */
function checkLabelPair(pred: unknown, target: unknown): [LabelArray, LabelArray] {
  if (!isLabelArray(pred)) throw typeError(LABEL_TYPES, 'pred', pred);
  if (!isLabelArray(target)) throw typeError(LABEL_TYPES, 'target', target);
  if (pred.length !== target.length) throw rangeErrorText(`length ${pred.length} (the length of pred)`, 'target', `length ${target.length}`);
  if (pred.constructor === target.constructor) return [pred, target];
  return [asInt32(pred), asInt32(target)];
}

/** An Int32Array copy (empty for an empty array: a detached one cannot be iterated). */
function asInt32(labels: LabelArray): Int32Array {
  return labels.length === 0 ? new Int32Array(0) : Int32Array.from(labels);
}

function checkNumClasses(value: unknown, min: number): number {
  if (!is.number(value)) throw typeError('an integer', 'numClasses', value);
  if (!is.integer(value) || value < min || value > MAX_CLASSES) throw rangeError(`an integer in [${min}, ${MAX_CLASSES}]`, 'numClasses', value);
  return value;
}

function checkIgnoreIndex(value: unknown): number | null {
  if (value === undefined) return null;
  if (!is.number(value)) throw typeError('an integer', 'ignoreIndex', value);
  if (!is.integer(value)) throw rangeError('an integer', 'ignoreIndex', value);
  return value;
}

/** RangeError for the first label outside [0, numClasses) (the target's may be the ignore index). */
function checkLabelValues(pred: LabelArray, target: LabelArray, numClasses: number, ignoreIndex: number | null): void {
  for (let i = 0; i < target.length; ++i) {
    const t = target[i];
    if (t === ignoreIndex) continue;
    const p = pred[i];
    if (t >= 0 && t < numClasses && p >= 0 && p < numClasses) continue;
    const [name, value] = t >= 0 && t < numClasses ? ['pred', p] : ['target', t];
    const allowed = ignoreIndex === null || name === 'pred' ? `[0, ${numClasses})` : `[0, ${numClasses}) or the ignoreIndex ${ignoreIndex}`;
    throw rangeErrorText(`class indices in ${allowed}`, name, `${value} at index ${i}`);
  }
}

interface CheckedLabels {
  readonly pred: LabelArray;
  readonly target: LabelArray;
  readonly numClasses: number;
  readonly ignoreIndex: number | null;
}

function checkConfusionArgs(pred: unknown, target: unknown, numClasses: unknown, options: unknown, fn: string): CheckedLabels {
  const opts = checkOptionsObject(options, ['ignoreIndex'], fn);
  const [p, t] = checkLabelPair(pred, target);
  const classes = checkNumClasses(numClasses, 1);
  const ignoreIndex = checkIgnoreIndex(opts.ignoreIndex);
  checkLabelValues(p, t, classes, ignoreIndex);
  return { pred: p, target: t, numClasses: classes, ignoreIndex };
}

function confusionMatrixOf(args: CheckedLabels): Float64Array {
  const matrix = new Float64Array(args.numClasses * args.numClasses);
  geometryAddon().confusionMatrix(args.pred, args.target, args.numClasses, args.ignoreIndex, matrix);
  return matrix;
}

function meanIoUOf(matrix: Float64Array, numClasses: number): MeanIoUResult {
  const perClassIoU = new Float64Array(numClasses);
  const meanIoU = geometryAddon().meanIoU(matrix, numClasses, perClassIoU);
  return { meanIoU, perClassIoU };
}

interface VolumeCall {
  readonly pred: LabelArray;
  readonly target: LabelArray;
  readonly grid: NativeGrid;
  readonly numClasses: number;
  readonly policy: 0 | 1;
  readonly out: Float64Array; // [numClasses − 1, 2]
}

function prepareVolumeCall(pred: unknown, target: unknown, shape: unknown, numClasses: unknown, options: unknown, fn: string, extra: string[]): VolumeCall {
  const opts = checkOptionsObject(options, ['spacing', 'policy', ...extra], fn);
  const grid = checkGrid(shape, { spacing: opts.spacing });
  const [p, t] = checkLabelPair(pred, target);
  const n = gridElements(grid);
  if (p.length !== n) throw rangeErrorText(`length ${n} (the product of shape ${describe(shape)})`, 'pred', `length ${p.length}`);
  const classes = checkNumClasses(numClasses, 2);
  const policy = checkPolicy(opts.policy);
  return { pred: p, target: t, grid, numClasses: classes, policy, out: new Float64Array(2 * (classes - 1)) };
}

function volumeResult(out: Float64Array): VolumeMetrics {
  const classes = out.length / 2;
  const dice = new Float64Array(classes), hd95 = new Float64Array(classes);
  for (let c = 0; c < classes; ++c) {
    dice[c] = out[2 * c];
    hd95[c] = out[2 * c + 1];
  }
  const mean = (values: Float64Array): number => values.reduce((a, b) => a + b, 0) / values.length;
  return { dice, hd95, meanDice: mean(dice), meanHd95: mean(hd95) };
}

/**
 * Evaluation metrics on raw typed arrays. Masks are Uint8Array (non-zero = inside), row-major
 * with a spatial `shape` `[H, W]` or `[D, H, W]`; label maps are Uint8Array, Uint16Array or Int32Array.
 * Every function throws TypeError / RangeError (code `'SEGLOSS_INVALID_ARGUMENT'`) naming the bad
 * argument before any native code runs.
 */
export const metrics = {
  /**
   * Dice similarity coefficient 2|P ∧ T| / (|P| + |T|) (medpy `metric.binary.dc`), with the
   * empty-mask `policy` of {@link EmptyMaskPolicy} (default `'transunet'`).
   * @throws for masks that are not Uint8Arrays of the shape's product, a bad shape or policy.
   * @example `metrics.dice(pred, target, [512, 512]) // 0.93…`
   */
  dice(pred: Uint8Array, target: Uint8Array, shape: readonly number[], options?: DiceMetricOptions): number {
    const opts = checkOptionsObject(options, ['policy'], 'metrics.dice');
    checkMaskPair(pred, target, shape, {});
    return geometryAddon().caseDice(pred, target, checkPolicy(opts.policy));
  },

  /**
   * 95th-percentile Hausdorff distance, medpy's `metric.binary.hd95(pred, target, voxelspacing,
   * connectivity=1)`: each mask's surface is the mask minus its binary erosion by the cross
   * (outside the array is background); the distances from every surface voxel of one mask to the
   * nearest surface voxel of the other (exact EDT with `spacing`), both directions pooled into one
   * set; the 95th percentile of it with numpy's default linear interpolation. Empty masks follow
   * `policy` (default `'transunet'`: 0 whenever a mask is empty).
   * @throws as {@link metrics.dice}, and for a bad `spacing`.
   * @example `metrics.hausdorff95(pred, target, [D, H, W], { spacing: [3, 0.7, 0.7] })`
   */
  hausdorff95(pred: Uint8Array, target: Uint8Array, shape: readonly number[], options?: SurfaceMetricOptions): number {
    const opts = checkOptionsObject(options, ['spacing', 'policy'], 'metrics.hausdorff95');
    const grid = checkMaskPair(pred, target, shape, opts);
    return geometryAddon().caseMetrics(pred, target, grid, checkPolicy(opts.policy))[1];
  },

  /**
   * Confusion matrix [numClasses, numClasses] (row = target class, column = predicted class,
   * row-major, counts as float64), skipping pixels whose target is `ignoreIndex`.
   * @throws for arrays that are not label arrays of one length, `numClasses` not an integer in
   *   [1, 4096], a non-integer `ignoreIndex`, a label outside [0, numClasses) (the target's may be
   *   the ignore index), naming the first bad index.
   * @example `metrics.confusionMatrix(pred, target, 19, { ignoreIndex: 255 })`
   */
  confusionMatrix(pred: LabelArray, target: LabelArray, numClasses: number, options?: ConfusionMatrixOptions): Float64Array {
    return confusionMatrixOf(checkConfusionArgs(pred, target, numClasses, options, 'metrics.confusionMatrix'));
  },

  /**
   * Mean intersection over union of the Cityscapes evaluation: IoU_c = TP / (TP + FP + FN) from
   * {@link metrics.confusionMatrix}; a class absent from both prediction and target (TP + FP +
   * FN = 0) has IoU NaN and is left out of the mean.
   * @throws as {@link metrics.confusionMatrix}.
   * @example `const { meanIoU, perClassIoU } = metrics.meanIoU(pred, target, 19, { ignoreIndex: 255 })`
   */
  meanIoU(pred: LabelArray, target: LabelArray, numClasses: number, options?: ConfusionMatrixOptions): MeanIoUResult {
    const args = checkConfusionArgs(pred, target, numClasses, options, 'metrics.meanIoU');
    return meanIoUOf(confusionMatrixOf(args), args.numClasses);
  },

  /**
   * {@link metrics.meanIoU} of an accumulated confusion matrix (e.g. the sum of a dataset's
   * per-image matrices).
   * @throws for a matrix that is not a Float64Array of numClasses² finite counts ≥ 0.
   */
  meanIoUFromConfusionMatrix(matrix: Float64Array, numClasses: number): MeanIoUResult {
    const classes = checkNumClasses(numClasses, 1);
    if (!(matrix instanceof Float64Array)) throw typeError('a Float64Array', 'matrix', matrix);
    if (matrix.length !== classes * classes) throw rangeErrorText(`length ${classes * classes} (numClasses²)`, 'matrix', `length ${matrix.length}`);
    const bad = matrix.findIndex((v) => !(Number.isFinite(v) && v >= 0));
    if (bad >= 0) throw rangeErrorText('finite counts ≥ 0', 'matrix', `${matrix[bad]} at index ${bad}`);
    return meanIoUOf(matrix, classes);
  },

  /**
   * TransUNet's `test_single_volume` metric list for one multi-class label volume: for each
   * foreground class c = 1 … numClasses − 1, DSC and HD95 of (pred == c, target == c) with the
   * empty-mask `policy` (default `'transunet'`) and `spacing` (default 1, as TransUNet calls
   * medpy). Labels outside [0, numClasses) match no class.
   * @throws for label arrays of the wrong type or length, a bad shape, spacing or policy,
   *   `numClasses` not an integer in [2, 4096].
   * @example `const { dice, hd95, meanDice } = metrics.evaluateVolume(pred, label, [D, 512, 512], 9)`
   */
  evaluateVolume(pred: LabelArray, target: LabelArray, shape: readonly number[], numClasses: number, options?: SurfaceMetricOptions): VolumeMetrics {
    const call = prepareVolumeCall(pred, target, shape, numClasses, options, 'metrics.evaluateVolume', []);
    geometryAddon().volumeMetrics(call.pred, call.target, call.grid, call.numClasses, call.policy, call.out);
    return volumeResult(call.out);
  },

  /**
   * {@link metrics.evaluateVolume} on a libuv worker thread (labels copied at the call). An
   * already-aborted `signal` rejects with an AbortError; a started call runs to the end.
   */
  async evaluateVolumeAsync(
    pred: LabelArray,
    target: LabelArray,
    shape: readonly number[],
    numClasses: number,
    options?: AsyncSurfaceMetricOptions,
  ): Promise<VolumeMetrics> {
    const callerStack = new Error().stack;
    const call = prepareVolumeCall(pred, target, shape, numClasses, options, 'metrics.evaluateVolumeAsync', ['signal']);
    throwIfAborted(checkSignal(options));
    const addon = geometryAddon();
    await withCallerStack(addon.volumeMetricsAsync(call.pred, call.target, call.grid, call.numClasses, call.policy, call.out), callerStack);
    return volumeResult(call.out);
  },
};
