// binaryMorphology and distanceMap against scipy (generated fixtures), their properties, and
// their argument errors.
import { describe, expect, it } from 'vitest';

import { binaryMorphology, distanceMap, distanceTransform, type DistanceMapKind, type MorphologyOp } from '../src/index';
import { expectDistancesClose, loadGeometryFixture, maskOf, numbersOf } from './helpers/geometry-fixtures';

const fixture = loadGeometryFixture();

const MORPHOLOGY: [MorphologyOp, 'erode' | 'dilate' | 'innerBoundary' | 'outerBoundary'][] = [
  ['erode', 'erode'],
  ['dilate', 'dilate'],
  ['inner-boundary', 'innerBoundary'],
  ['outer-boundary', 'outerBoundary'],
];

describe('binaryMorphology vs scipy binary_erosion / binary_dilation', () => {
  const cases = fixture.morphology.flatMap((c, i) => MORPHOLOGY.map(([op, key]) => [`${i} ${op} ${c.connectivity} ${JSON.stringify(c.shape)}`, c, op, key] as const));
  it.each(cases)('%s', (_name, c, op, key) => {
    const out = binaryMorphology(op, maskOf(c.mask), c.shape, { connectivity: c.connectivity });
    expect(Array.from(out).join('')).toBe(c[key]);
  });

  it('erodes elements on the array edge (border_value 0) and keeps a 3×3 block centre', () => {
    const mask = new Uint8Array(9).fill(1);
    expect(Array.from(binaryMorphology('erode', mask, [3, 3]))).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(Array.from(binaryMorphology('inner-boundary', mask, [3, 3], { connectivity: 8 }))).toEqual([1, 1, 1, 1, 0, 1, 1, 1, 1]);
  });

  it('batches with dims: each map on its own', () => {
    const mask = new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const out = binaryMorphology('dilate', mask, [2, 3, 3], { dims: 2 });
    expect(Array.from(out)).toEqual([0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });
});

const KINDS: DistanceMapKind[] = ['boundary', 'region-wise', 'hausdorff-dt', 'distance-map-ce'];

describe('distanceMap vs the references re-run with scipy', () => {
  const cases = fixture.distanceMaps.flatMap((c, i) => KINDS.map((kind) => [`${i} ${kind} ${JSON.stringify(c.shape)}`, c, kind] as const));
  it.each(cases)('%s', (_name, c, kind) => {
    const out = distanceMap(kind, maskOf(c.mask), c.shape, c.spacing ? { spacing: c.spacing } : {});
    expectDistancesClose(out, numbersOf(c[kind]), 1e-9, kind);
    expect(out.every(Number.isFinite)).toBe(true);
  });

  it('boundary map: 0 on the inner boundary, +1 just outside, −1 one step inside', () => {
    const mask = new Uint8Array([0, 1, 1, 1, 1, 1, 0]);
    expect(Array.from(distanceMap('boundary', mask, [1, 7]))).toEqual([1, 0, -1, -2, -1, 0, 1]);
  });

  it('empty and full masks give the documented constants in a batch', () => {
    const mask = new Uint8Array([0, 0, 0, 1, 1, 1]);
    expect(Array.from(distanceMap('boundary', mask, [2, 1, 3], { dims: 2 }))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(distanceMap('region-wise', mask, [2, 1, 3], { dims: 2 }))).toEqual([1, 1, 1, -1, -1, -1]);
    expect(Array.from(distanceMap('hausdorff-dt', mask, [2, 1, 3], { dims: 2 }))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(distanceMap('distance-map-ce', mask, [2, 1, 3], { dims: 2 }))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('hausdorff-dt = edt(mask) + edt(¬mask)', () => {
    const mask = Uint8Array.from({ length: 60 }, (_, i) => (i % 7 < 3 ? 1 : 0));
    const inverse = mask.map((v) => 1 - v);
    const a = distanceTransform(mask, [6, 10], { spacing: [1.5, 0.5] });
    const b = distanceTransform(inverse, [6, 10], { spacing: [1.5, 0.5] });
    const sum = a.map((v, i) => v + b[i]);
    expect(Array.from(distanceMap('hausdorff-dt', mask, [6, 10], { spacing: [1.5, 0.5] }))).toEqual(Array.from(sum));
  });
});

type BadCall = [string, () => unknown, 'TypeError' | 'RangeError', string];
const m4 = new Uint8Array(4);
const badCalls: BadCall[] = [
  ['unknown map kind', () => distanceMap('surface' as never, m4, [2, 2]), 'RangeError', "Expected one of 'boundary', 'region-wise', 'hausdorff-dt', 'distance-map-ce' for kind but received 'surface'"],
  ['map kind not a string', () => distanceMap(3 as never, m4, [2, 2]), 'TypeError', "Expected one of 'boundary', 'region-wise', 'hausdorff-dt', 'distance-map-ce' for kind but received 3"],
  ['map mask length', () => distanceMap('boundary', m4, [2, 3]), 'RangeError', 'Expected length 6 (the product of shape [2, 3]) for mask but received length 4'],
  ['unknown op', () => binaryMorphology('open' as never, m4, [2, 2]), 'RangeError', "Expected one of 'erode', 'dilate', 'inner-boundary', 'outer-boundary' for op but received 'open'"],
  ['2-D connectivity 6', () => binaryMorphology('erode', m4, [2, 2], { connectivity: 6 }), 'RangeError', 'Expected 4 or 8 (2-D) for connectivity but received 6'],
  ['3-D connectivity 8', () => binaryMorphology('erode', m4, [1, 2, 2], { connectivity: 8 }), 'RangeError', 'Expected 6 or 26 (3-D) for connectivity but received 8'],
  ['spacing is not a morphology option', () => binaryMorphology('erode', m4, [2, 2], { spacing: [1, 1] } as never), 'RangeError', "Expected one of connectivity, dims for an option name of binaryMorphology but received 'spacing'"],
];

describe('distanceMap / binaryMorphology argument errors', () => {
  it.each(badCalls)('%s', (_name, call, type, message) => {
    expect(call).toThrow(message);
    try {
      call();
    } catch (e) {
      expect((e as Error).name).toBe(type);
      expect((e as { code?: string }).code).toBe('SEGLOSS_INVALID_ARGUMENT');
    }
  });
});
