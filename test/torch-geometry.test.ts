// The libtorch tensor path of the distance transform and the target-map cache
// (native/torch/distance_maps_torch.h) against the core addon. Skipped when the torch addon is not
// built (SEGLOSS_REQUIRE_TORCH=1 makes that a failure, as in torch.test.ts).
import { describe, expect, it } from 'vitest';

import { distanceMap, distanceTransform, torchAvailable, type DistanceMapKind } from '../src/index';
import { torchGeometryAddon } from '../src/torch/geometry-addon';
import { rng } from './helpers/numeric';

const available = torchAvailable();
const required = process.env.SEGLOSS_REQUIRE_TORCH === '1';

describe('torch geometry', () => {
  it.runIf(required)('the torch addon is built (SEGLOSS_REQUIRE_TORCH=1)', () => {
    expect(available).toBe(true);
  });

  describe.runIf(available)('tensor path', () => {
    const random = rng(3);
    const mask = Uint8Array.from({ length: 3 * 4 * 9 * 11 }, () => (random() < 0.85 ? 1 : 0));

    it('distanceTransform on tensors equals the core addon (2-D batch, 3-D, float32)', () => {
      const addon = torchGeometryAddon();
      const d2 = addon.distanceTransformTorch(mask, [12, 9, 11], 2, [1, 0.5, 2], false);
      expect(Array.from(d2)).toEqual(Array.from(distanceTransform(mask, [12, 9, 11], { dims: 2, spacing: [0.5, 2] })));
      const d3 = addon.distanceTransformTorch(mask, [3, 4, 9, 11], 3, [2, 1, 0.7], true);
      expect(d3).toBeInstanceOf(Float32Array);
      expect(Array.from(d3)).toEqual(Array.from(distanceTransform(mask, [3, 4, 9, 11], { dims: 3, spacing: [2, 1, 0.7], float32: true })));
    });

    const kinds: DistanceMapKind[] = ['boundary', 'region-wise', 'hausdorff-dt', 'distance-map-ce'];
    it.each(kinds)('TargetMapCache %s: per-class maps, hit returns the cached tensor, in-place writes recompute', (kind) => {
      const [batch, classes, h, w] = [2, 4, 10, 13];
      const labels = Int32Array.from({ length: batch * h * w }, (_, i) => (Math.floor(i / 7) + (i % 13 > 6 ? 1 : 0)) % 3);
      labels[5] = 255; // an ignore index belongs to no class
      const r = torchGeometryAddon().targetMapCacheCheck(labels, [batch, h, w], classes, kind, 2, [1, 1.5, 0.5]);
      const expected: number[] = [];
      for (let b = 0; b < batch; ++b) {
        for (let c = 0; c < classes; ++c) {
          const m = Uint8Array.from(labels.subarray(b * h * w, (b + 1) * h * w), (v) => (v === c ? 1 : 0));
          expected.push(...distanceMap(kind, m, [h, w], { spacing: [1.5, 0.5] }));
        }
      }
      expect(Array.from(r.maps)).toEqual(expected);
      expect(r.sameTensorOnHit).toBe(true);
      expect(r.recomputedAfterInPlace).toBe(true);
      expect([r.hits, r.misses]).toEqual([1, 3]);
      // After fill_(0): class 0 is full, the others absent.
      const full = Array.from(distanceMap(kind, new Uint8Array(h * w).fill(1), [h, w]));
      const absent = Array.from(distanceMap(kind, new Uint8Array(h * w), [h, w]));
      const afterWrite = Array.from(r.mapsAfterWrite);
      for (let b = 0; b < batch; ++b) {
        for (let c = 0; c < classes; ++c) {
          const slice = afterWrite.slice((b * classes + c) * h * w, (b * classes + c + 1) * h * w);
          expect(slice).toEqual(c === 0 ? full : absent);
        }
      }
    });
  });
});
