// The core addon's geometry functions called directly with broken arguments (bypassing the
// TypeScript validation): each is a JavaScript error with code SEGLOSS_NATIVE, never a crash.
import { describe, expect, it } from 'vitest';

import { geometryAddon, type NativeGrid } from '../src/native/geometry';
import { thrownBy } from './helpers/errors';

const grid: NativeGrid = { maps: 1, spatialDims: 2, depth: 1, height: 2, width: 2, spacing: [1, 1, 1] };
const bad = (g: Partial<Record<keyof NativeGrid, unknown>>) => ({ ...grid, ...g }) as unknown as NativeGrid;

const calls: [string, () => unknown, string, string][] = [
  ['overflowing extents', () => geometryAddon().distanceTransform(new Uint8Array(4), bad({ maps: 1e18, height: 1e9, width: 1e9 }), new Float64Array(4)), 'RangeError', 'grid.maps is not an integer in [0, 2^31)'],
  ['NaN maps', () => geometryAddon().distanceTransform(new Uint8Array(4), bad({ maps: Number.NaN }), new Float64Array(4)), 'RangeError', 'grid.maps is not an integer in [0, 2^31)'],
  ['string extent', () => geometryAddon().distanceTransform(new Uint8Array(4), bad({ width: '2' }), new Float64Array(4)), 'TypeError', 'grid.width is not a number'],
  ['NaN spacing', () => geometryAddon().distanceTransform(new Uint8Array(4), bad({ spacing: [1, Number.NaN, 1] }), new Float64Array(4)), 'RangeError', 'spacing must be in [1e-12, 1e12]'],
  ['huge spacing', () => geometryAddon().distanceTransform(new Uint8Array(4), bad({ spacing: [1, 1e200, 1] }), new Float64Array(4)), 'RangeError', 'spacing must be in [1e-12, 1e12]'],
  ['short output', () => geometryAddon().distanceTransform(new Uint8Array(4), grid, new Float64Array(3)), 'RangeError', 'out length does not match'],
  ['mask of the wrong type', () => geometryAddon().distanceMap('boundary', new Int32Array(4) as never, grid, new Float64Array(4)), 'TypeError', 'mask is not a Uint8Array'],
  ['bad connectivity', () => geometryAddon().morphology('erode', new Uint8Array(4), grid, 3 as never, new Uint8Array(4)), 'RangeError', 'connectivity must be 1 or 2'],
  ['EDT output overlapping the mask', () => { const b = new ArrayBuffer(32); return geometryAddon().distanceTransform(new Uint8Array(b, 0, 4), grid, new Float64Array(b, 0, 4)); }, 'RangeError', 'out may not overlap mask'],
  ['aliased morphology output', () => { const m = new Uint8Array(4); return geometryAddon().morphology('erode', m, grid, 1, m); }, 'RangeError', 'out may not alias mask'],
  ['label out of range', () => geometryAddon().confusionMatrix(new Int32Array([5]), new Int32Array([0]), 2, null, new Float64Array(4)), 'RangeError', 'a label is outside [0, classes)'],
  // Regression (issue 11): classes² overflowed to 0 and an empty matrix was written out of bounds.
  ['classes² overflowing int64', () => geometryAddon().confusionMatrix(new Int32Array([5]), new Int32Array([3]), 2 ** 32, null, new Float64Array(0)), 'RangeError', 'classes is not an integer in [1, 2^31)'],
  ['fractional classes', () => geometryAddon().meanIoU(new Float64Array(4), 2.5, new Float64Array(2)), 'RangeError', 'classes is not an integer in [1, 2^31)'],
  ['huge volume classes', () => geometryAddon().volumeMetrics(new Uint8Array(4), new Uint8Array(4), grid, 2 ** 62, 0, new Float64Array(0)), 'RangeError', 'classes is not an integer in [1, 2^31)'],
  ['mixed label types', () => geometryAddon().volumeMetrics(new Uint8Array(4), new Int32Array(4), grid, 3, 0, new Float64Array(4)), 'TypeError', 'pred and target have different label types'],
  ['bad policy', () => geometryAddon().caseMetrics(new Uint8Array(4), new Uint8Array(4), grid, 7 as never), 'RangeError', 'policy must be 0 or 1'],
];

describe('geometry native boundary', () => {
  it.each(calls)('%s', (_name, call, type, message) => {
    const error = thrownBy(call);
    expect(error?.name).toBe(type);
    expect(error?.message).toBe(message);
    expect(error?.code).toBe('SEGLOSS_NATIVE');
  });

  it('an async call with a broken grid throws before queueing any work', () => {
    expect(() => geometryAddon().distanceTransformAsync(new Uint8Array(4), bad({ height: -1 }), new Float64Array(4))).toThrow(
      'grid.height is not an integer in [0, 2^31)',
    );
  });
});
