/**
 * The core addon's geometry functions (native/addon/geometry_addon.cpp), as TypeScript sees them.
 * Arguments are validated and outputs allocated by src/geometry.ts and src/metrics.ts first.
 */
import { coreAddon } from './core';

/** A batch of `maps` maps of [depth, height, width] (2-D: depth 1) with spacing per axis D, H, W. */
export interface NativeGrid {
  readonly maps: number;
  readonly spatialDims: 2 | 3;
  readonly depth: number;
  readonly height: number;
  readonly width: number;
  readonly spacing: readonly [number, number, number];
}

/** Label arrays the metrics take. */
export type LabelArray = Uint8Array | Uint16Array | Int32Array;

/** The native distance maps (native/core/geometry/distance_maps.h). */
export type NativeDistanceMapKind = 'boundary' | 'region-wise' | 'hausdorff' | 'penalty';

/** The native morphology operations (native/core/geometry/morphology.h). */
export type NativeMorphologyOp = 'erode' | 'dilate' | 'inner' | 'outer';

/** The geometry part of the core addon. */
export interface GeometryAddon {
  /** Writes the exact EDT of mask [maps, D, H, W] into out (same length). */
  distanceTransform(mask: Uint8Array, grid: NativeGrid, out: Float64Array | Float32Array): void;
  /** The same on a libuv worker thread (mask copied at the call). */
  distanceTransformAsync(mask: Uint8Array, grid: NativeGrid, out: Float64Array | Float32Array): Promise<void>;
  /** Writes a per-map distance map of mask into out. */
  distanceMap(kind: NativeDistanceMapKind, mask: Uint8Array, grid: NativeGrid, out: Float64Array): void;
  /** Writes a 0/1 morphology result of mask into out; connectivity 1 = face, 2 = full. */
  morphology(op: NativeMorphologyOp, mask: Uint8Array, grid: NativeGrid, connectivity: 1 | 2, out: Uint8Array): void;
  /** DSC of one mask pair under the policy (0 = TransUNet, 1 = strict). */
  caseDice(pred: Uint8Array, target: Uint8Array, policy: 0 | 1): number;
  /** [dice, hd95] of one mask pair; policy 0 = TransUNet, 1 = strict. */
  caseMetrics(pred: Uint8Array, target: Uint8Array, grid: NativeGrid, policy: 0 | 1): [number, number];
  /** out [classes − 1, 2] = (dice, hd95) for classes 1..classes−1. */
  volumeMetrics(pred: LabelArray, target: LabelArray, grid: NativeGrid, classes: number, policy: 0 | 1, out: Float64Array): void;
  /** The same on a libuv worker thread (labels copied at the call). */
  volumeMetricsAsync(
    pred: LabelArray,
    target: LabelArray,
    grid: NativeGrid,
    classes: number,
    policy: 0 | 1,
    out: Float64Array,
  ): Promise<void>;
  /** Adds counts to matrix [classes, classes] (row = target class). */
  confusionMatrix(pred: LabelArray, target: LabelArray, classes: number, ignoreIndex: number | null, matrix: Float64Array): void;
  /** Writes per-class IoU (NaN when absent) and returns the mean over present classes. */
  meanIoU(matrix: Float64Array, classes: number, perClass: Float64Array): number;
}

/** The core addon with its geometry functions (loaded on first use). */
export function geometryAddon(): GeometryAddon {
  return coreAddon() as unknown as GeometryAddon;
}
