/**
 * The torch addon's geometry functions (native/addon/torch_geometry_addon.cpp): checks of the
 * libtorch tensor path of the distance transform and of the target-map cache
 * (native/torch/distance_maps_torch.h), used by the tests. Not part of the public API: native
 * training code calls the C++ functions directly.
 */
import { torchAddon } from './addon';

/** What {@link TorchGeometryAddon.targetMapCacheCheck} observed. */
export interface TargetMapCacheCheck {
  /** [B, C, ...] maps of the target (a cache miss). */
  readonly maps: Float64Array;
  /** A second get of the same tensor returned the cached tensor itself. */
  readonly sameTensorOnHit: boolean;
  /** After an in-place `mul_(1)` (new version, same values) the maps were recomputed (equal values). */
  readonly recomputedAfterInPlace: boolean;
  /** The maps after an in-place `fill_(0)` of the target. */
  readonly mapsAfterWrite: Float64Array;
  readonly hits: number;
  readonly misses: number;
}

/** The torch addon's geometry exports. */
export interface TorchGeometryAddon {
  /** torch_ops::distanceTransform on a CPU tensor copy of mask [..., (D,) H, W]. */
  distanceTransformTorch(
    mask: Uint8Array,
    shape: readonly number[],
    spatialDims: 2 | 3,
    spacing: readonly [number, number, number],
    float32: boolean,
  ): Float64Array | Float32Array;
  /** Runs a TargetMapCache through get, get, target.mul_(1), get, target.fill_(0), get. */
  targetMapCacheCheck(
    target: Int32Array,
    shape: readonly number[],
    classes: number,
    kind: 'boundary' | 'region-wise' | 'hausdorff-dt' | 'distance-map-ce',
    spatialDims: 2 | 3,
    spacing: readonly [number, number, number],
  ): TargetMapCacheCheck;
}

/** The torch addon with its geometry functions (throws as torchAddon() when it is missing). */
export function torchGeometryAddon(): TorchGeometryAddon {
  return torchAddon() as unknown as TorchGeometryAddon;
}
