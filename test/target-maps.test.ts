// The target-map cache of the boundary losses (native/core/target_maps.h, docs/engine.md): hits for
// repeated targets, and never a stale map — a label changed in place, in a reused buffer or in a
// different image of the batch makes the next call equal to a call on a fresh copy of the data.
import { beforeEach, describe, expect, it } from 'vitest';

import { computeLoss, type LossShape } from '../src/index';
import { coreAddon } from '../src/native/core';
import { labels, rng, uniform } from './helpers/numeric';

const shape: LossShape = [3, 3, 7, 6];
const pixels = 7 * 6;
const random = rng(3);
const logits = Float64Array.from(uniform(random, 3 * 3 * pixels, -2, 2));
const initial = Uint8Array.from(labels(random, 3 * pixels, 3));

function cache(): { hits: number; misses: number; entries: number } {
  return coreAddon().targetMapCacheInfo();
}

function boundary(target: Uint8Array): { value: number; grad: Float64Array } {
  return computeLoss('boundary', { logits, target, shape }, { grad: true });
}

describe('target-map cache', () => {
  beforeEach(() => coreAddon().targetMapCacheInfo(true));

  it('computes each image once, then answers from the cache', () => {
    const target = initial.slice();
    const first = boundary(target);
    expect(cache()).toMatchObject({ hits: 0, misses: 3, entries: 3 });
    const second = boundary(target);
    expect(cache()).toMatchObject({ hits: 3, misses: 3, entries: 3 });
    expect(second.value).toBe(first.value);
    expect(second.grad).toEqual(first.grad);
    boundary(target.slice()); // the same labels in another buffer are the same maps
    expect(cache()).toMatchObject({ hits: 6, misses: 3 });
  });

  it('is never stale: a label changed in place recomputes only its image, and equals a fresh computation', () => {
    const target = initial.slice();
    const before = boundary(target);
    target[pixels + 10] = (target[pixels + 10] + 1) % 3; // image 1, in place
    const after = boundary(target);
    expect(cache()).toMatchObject({ hits: 2, misses: 4 });
    expect(after.value).not.toBe(before.value);
    coreAddon().targetMapCacheInfo(true);
    const fresh = boundary(target.slice());
    expect(cache()).toMatchObject({ hits: 0, misses: 3 });
    expect(after.value).toBe(fresh.value);
    expect(after.grad).toEqual(fresh.grad);
  });

  it('keys on the ignore index and the spatial shape, not only the labels', () => {
    const target = initial.slice();
    const plain = computeLoss('boundary', { logits, target, shape }, { classes: [0] }).value;
    expect(plain).not.toBe(0);
    // With ignoreIndex 0 the pixels of class 0 belong to no class: its map is the empty mask's, 0.
    expect(computeLoss('boundary', { logits, target, shape }, { classes: [0], ignoreIndex: 0 }).value).toBe(0);
    expect(computeLoss('boundary', { logits, target, shape }, { classes: [0] }).value).toBe(plain);
    const transposed: LossShape = [3, 3, 6, 7];
    const t1 = computeLoss('boundary', { logits, target, shape: transposed }).value;
    coreAddon().targetMapCacheInfo(true);
    expect(computeLoss('boundary', { logits, target, shape: transposed }).value).toBe(t1);
  });
});
