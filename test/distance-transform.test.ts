// distanceTransform / distanceTransformAsync: equal to scipy.ndimage.distance_transform_edt
// (committed fixtures + a live check when python3-scipy is installed), float32 output, batches,
// threads, AbortSignal, and exact argument errors.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { distanceTransform, distanceTransformAsync } from '../src/index';
import {
  expectDistancesClose,
  loadGeometryFixture,
  maskOf,
  numbersOf,
  scipyAvailable,
  scipyDistanceTransforms,
  type LiveEdtCase,
} from './helpers/geometry-fixtures';
import { expectClose, rng } from './helpers/numeric';
import { thrownBy } from './helpers/errors';

const fixture = loadGeometryFixture();
const REL = 1e-9;

function optionsOf(c: { dims?: 2 | 3; spacing: number[] | null }): { dims?: 2 | 3; spacing?: number[] } {
  return { ...(c.dims ? { dims: c.dims } : {}), ...(c.spacing ? { spacing: c.spacing } : {}) };
}

describe('distanceTransform vs scipy fixtures', () => {
  it('has enough cases of every kind', () => {
    expect(fixture.edt.length).toBeGreaterThanOrEqual(240);
    expect(fixture.edt.some((c) => c.shape.length === 3 && !c.dims)).toBe(true);
    expect(fixture.edt.some((c) => c.dims)).toBe(true);
  });

  it.each(fixture.edt.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = distanceTransform(maskOf(c.mask), c.shape, optionsOf(c));
    expect(result).toBeInstanceOf(Float64Array);
    expectDistancesClose(result, numbersOf(c.expected), REL, 'edt');
  });
});

describe('distanceTransform semantics', () => {
  it('1-D line with spacing, exact values', () => {
    expect(Array.from(distanceTransform(new Uint8Array([0, 1, 1, 1, 0, 1]), [1, 6]))).toEqual([0, 1, 2, 1, 0, 1]);
    expect(Array.from(distanceTransform(new Uint8Array([0, 1, 1, 1]), [4, 1], { spacing: [0.5, 7] }))).toEqual([0, 0.5, 1, 1.5]);
  });

  it('a map without zero elements is Infinity everywhere, the others of the batch are finite', () => {
    const mask = new Uint8Array([1, 1, 1, 1, 0, 1]);
    expect(Array.from(distanceTransform(mask, [2, 1, 3], { dims: 2 }))).toEqual([Infinity, Infinity, Infinity, 1, 0, 1]);
  });

  it('diagonal distances in 3-D with anisotropic spacing', () => {
    const mask = new Uint8Array(8).fill(1);
    mask[0] = 0;
    const d = distanceTransform(mask, [2, 2, 2], { spacing: [3, 2, 1] });
    expect(d[7]).toBe(Math.sqrt(9 + 4 + 1));
    expect(d[4]).toBe(3);
  });

  it('extreme spacings (1e-12 … 1e12, mixed across axes) equal a brute-force minimum, never NaN', () => {
    const random = rng(21);
    const spacings = [1e-12, 1e-6, 1, 1e6, 1e12];
    for (let k = 0; k < 60; ++k) {
      const shape = [1 + Math.floor(random() * 4), 1 + Math.floor(random() * 6), 1 + Math.floor(random() * 7)];
      const spacing = shape.map(() => spacings[Math.floor(random() * spacings.length)]);
      const n = shape[0] * shape[1] * shape[2];
      const mask = Uint8Array.from({ length: n }, () => (random() < 0.8 ? 1 : 0));
      const d = distanceTransform(mask, shape, { spacing });
      const coords = (i: number) => [Math.floor(i / (shape[1] * shape[2])), Math.floor(i / shape[2]) % shape[1], i % shape[2]];
      for (let i = 0; i < n; ++i) {
        let best = Infinity;
        for (let j = 0; j < n; ++j) {
          if (mask[j]) continue;
          const a = coords(i), b = coords(j);
          best = Math.min(best, a.reduce((sum, v, axis) => sum + ((v - b[axis]) * spacing[axis]) ** 2, 0));
        }
        const expected = Math.sqrt(best);
        expect(Number.isNaN(d[i])).toBe(false);
        if (expected !== d[i]) expectClose(d[i], expected, 1e-12, 0, `case ${k} [${i}]`);
      }
    }
  });

  it('float32 output is the float64 result rounded', () => {
    const random = rng(5);
    const mask = Uint8Array.from({ length: 37 * 29 }, () => (random() < 0.9 ? 1 : 0));
    const d64 = distanceTransform(mask, [37, 29], { spacing: [0.7, 1.3] });
    const d32 = distanceTransform(mask, [37, 29], { spacing: [0.7, 1.3], float32: true });
    expect(d32).toBeInstanceOf(Float32Array);
    expect(Array.from(d32)).toEqual(Array.from(Float32Array.from(d64)));
  });

  it('writes into `out` when given and returns it (float64 and float32)', () => {
    const mask = new Uint8Array([1, 1, 0, 1, 1, 1]);
    const out = new Float64Array(6).fill(-1);
    expect(distanceTransform(mask, [2, 3], { out })).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(distanceTransform(mask, [2, 3])));
    const out32 = new Float32Array(6);
    expect(distanceTransform(mask, [2, 3], { out: out32, spacing: [2, 1] })).toBe(out32);
    expect(Array.from(out32)).toEqual(Array.from(distanceTransform(mask, [2, 3], { spacing: [2, 1], float32: true })));
  });

  it('a batch equals the maps one by one (2-D and 3-D)', () => {
    const random = rng(9);
    for (const spatial of [[13, 17], [5, 6, 7]]) {
      const n = spatial.reduce((a, b) => a * b, 1);
      const maps = 5;
      const mask = Uint8Array.from({ length: maps * n }, () => (random() < 0.8 ? 1 : 0));
      const batch = distanceTransform(mask, [maps, ...spatial], { dims: spatial.length as 2 | 3 });
      for (let m = 0; m < maps; ++m) {
        const one = distanceTransform(mask.subarray(m * n, (m + 1) * n), spatial);
        expect(Array.from(batch.subarray(m * n, (m + 1) * n))).toEqual(Array.from(one));
      }
    }
  });

  // 1 thread runs whole maps on one worker; 4 threads split a batch of 4 by maps, and one map's
  // passes over workers (the scan by plane chunks, the lines by rows or D-planes).
  it.each([
    ['a batch of 4 maps 300×310', [4, 300, 310], 2],
    ['one 700×650 map', [700, 650], 2],
    ['one 60×70×80 volume', [60, 70, 80], 3],
  ] as const)('gives the same result with 1 thread and with 4: %s', (_name, shape, dims) => {
    const random = rng(11);
    const n = shape.reduce((a: number, b: number) => a * b, 1);
    const mask = Uint8Array.from({ length: n }, () => (random() < 0.999 ? 1 : 0));
    const script = `
      const { distanceTransform } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'index.js'))});
      const mask = require('node:fs').readFileSync(0);
      const d = distanceTransform(new Uint8Array(mask.buffer, mask.byteOffset, mask.length), ${JSON.stringify(shape)}, { dims: ${dims} });
      let s = 0; for (let i = 0; i < d.length; ++i) s += d[i] * ((i % 97) + 1);
      console.log(s);`;
    const run = (threads: string) =>
      spawnSync(process.execPath, ['-e', script], { input: mask, env: { ...process.env, SEGLOSS_NUM_THREADS: threads }, encoding: 'utf8' });
    const one = run('1'), four = run('4');
    expect(one.status, `signal ${one.signal}; ${one.stderr}`).toBe(0);
    expect(four.status, `signal ${four.signal}; ${four.stderr}`).toBe(0);
    expect(four.stdout).toBe(one.stdout);
    const local = distanceTransform(mask, shape, { dims });
    let s = 0;
    for (let i = 0; i < local.length; ++i) s += local[i] * ((i % 97) + 1);
    expect(Number(one.stdout)).toBe(s);
  });
});

describe.skipIf(!scipyAvailable())('distanceTransform vs scipy, live (python3-scipy installed)', () => {
  it('thousands of random and structured masks, 2-D, 3-D, spacing, batches', () => {
    const random = rng(2026);
    const cases: LiveEdtCase[] = [];
    for (let i = 0; i < 2400; ++i) {
      const dims = (i % 3 === 2 ? 3 : 2) as 2 | 3;
      const maxExtent = dims === 2 ? 24 : 9;
      const spatial = Array.from({ length: dims }, () => 1 + Math.floor(random() * maxExtent));
      const maps = i % 5 === 0 ? 1 + Math.floor(random() * 4) : 1;
      const n = maps * spatial.reduce((a, b) => a * b, 1);
      const p = [0.5, 0.9, 0.99, 1, 0.2][i % 5];
      const mask = Uint8Array.from({ length: n }, () => (random() < p ? 1 : 0));
      const spacing = i % 2 ? Array.from({ length: dims }, () => 0.1 + 3 * random()) : Array(dims).fill(1);
      cases.push({ shape: maps > 1 ? [maps, ...spatial] : spatial, dims, spacing, mask });
    }
    const expected = scipyDistanceTransforms(cases);
    cases.forEach((c, i) => {
      expectDistancesClose(distanceTransform(c.mask, c.shape, { dims: c.dims, spacing: c.spacing }), expected[i], REL, `case ${i}`);
    });
  });

  it('larger single maps (their passes split over threads): 400×420 and 48×50×52 with spacing', () => {
    const random = rng(7);
    const cases: LiveEdtCase[] = [
      { shape: [96, 120], dims: 2, spacing: [0.8, 1.7], mask: Uint8Array.from({ length: 96 * 120 }, () => (random() < 0.995 ? 1 : 0)) },
      { shape: [400, 420], dims: 2, spacing: [1.3, 0.6], mask: Uint8Array.from({ length: 400 * 420 }, () => (random() < 0.9995 ? 1 : 0)) },
      { shape: [48, 50, 52], dims: 3, spacing: [2.5, 0.7, 0.9], mask: Uint8Array.from({ length: 48 * 50 * 52 }, () => (random() < 0.9995 ? 1 : 0)) },
    ];
    const expected = scipyDistanceTransforms(cases);
    cases.forEach((c, i) => expectDistancesClose(distanceTransform(c.mask, c.shape, { spacing: c.spacing }), expected[i], REL, `case ${i}`));
  });
});

describe('distanceTransformAsync', () => {
  const mask = Uint8Array.from({ length: 3 * 40 * 50 }, (_, i) => (i % 37 === 0 ? 0 : 1));

  it('equals distanceTransform (float64 and float32), and copies the mask at the call', async () => {
    const sync = distanceTransform(mask, [3, 40, 50], { dims: 2, spacing: [1, 2] });
    const copy = Uint8Array.from(mask);
    const pending = distanceTransformAsync(copy, [3, 40, 50], { dims: 2, spacing: [1, 2] });
    copy.fill(0);
    expect(Array.from(await pending)).toEqual(Array.from(sync));
    const f32 = await distanceTransformAsync(mask, [3, 40, 50], { dims: 2, spacing: [1, 2], float32: true });
    expect(f32).toBeInstanceOf(Float32Array);
    expect(Array.from(f32)).toEqual(Array.from(Float32Array.from(sync)));
  });

  it('rejects with an AbortError when the signal is already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    const error = (await distanceTransformAsync(mask, [3, 40, 50], { dims: 2, signal: controller.signal }).catch((e: unknown) => e)) as Error & {
      code?: string;
    };
    expect(error.name).toBe('AbortError');
    expect(error.code).toBe('ABORT_ERR');
    expect(error.cause).toBe(reason);
  });

  it('rejects validation errors (before the abort check) and a signal that is not an AbortSignal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(distanceTransformAsync(mask, [3, 40], { signal: controller.signal })).rejects.toThrow(
      'Expected length 120 (the product of shape [3, 40]) for mask but received length 6000',
    );
    await expect(distanceTransformAsync(mask, [3, 40, 50], { dims: 2, signal: 'x' as never })).rejects.toThrow(
      "Expected an AbortSignal for signal but received 'x'",
    );
  });
});

type BadCall = [string, () => unknown, 'TypeError' | 'RangeError', string];

const m6 = new Uint8Array(6);
const badCalls: BadCall[] = [
  ['mask not a Uint8Array', () => distanceTransform(new Float32Array(6) as never, [2, 3]), 'TypeError', 'Expected a Uint8Array for mask but received Float32Array of length 6'],
  ['mask length', () => distanceTransform(m6, [2, 4]), 'RangeError', 'Expected length 8 (the product of shape [2, 4]) for mask but received length 6'],
  ['shape not an array', () => distanceTransform(m6, 6 as never), 'TypeError', 'Expected an array [H, W], [D, H, W], or [N, H, W] / [N, D, H, W] with dims for shape but received 6'],
  ['shape rank 1', () => distanceTransform(m6, [6]), 'RangeError', 'Expected 2 or 3 entries ([H, W], [D, H, W], or [N, H, W] / [N, D, H, W] with dims) for shape but received 1 entries'],
  ['shape rank 4 without dims', () => distanceTransform(m6, [1, 1, 2, 3]), 'RangeError', 'Expected 2 or 3 entries ([H, W], [D, H, W], or [N, H, W] / [N, D, H, W] with dims) for shape but received 4 entries'],
  ['shape entry 0', () => distanceTransform(m6, [0, 3]), 'RangeError', 'Expected a positive integer for shape[0] but received 0'],
  ['shape entry fractional', () => distanceTransform(m6, [2, 3.5]), 'RangeError', 'Expected a positive integer for shape[1] but received 3.5'],
  ['shape entry string', () => distanceTransform(m6, [2, '3' as never]), 'TypeError', "Expected a positive integer for shape[1] but received '3'"],
  ['dims 4', () => distanceTransform(m6, [1, 2, 3], { dims: 4 as never }), 'RangeError', 'Expected 2 or 3 for dims but received 4'],
  ['dims string', () => distanceTransform(m6, [2, 3], { dims: '2' as never }), 'TypeError', "Expected 2 or 3 for dims but received '2'"],
  ['dims larger than the shape', () => distanceTransform(m6, [2, 3], { dims: 3 }), 'RangeError', 'Expected at most the rank of shape (2) for dims but received 3'],
  ['shape too long for dims', () => distanceTransform(m6, [1, 1, 2, 3], { dims: 2 }), 'RangeError', 'Expected 2 or 3 entries with dims 2 ([H, W], [D, H, W], or [N, H, W] / [N, D, H, W] with dims) for shape but received 4 entries'],
  ['spacing wrong length', () => distanceTransform(m6, [2, 3], { spacing: [1, 1, 1] }), 'RangeError', 'Expected 2 entries (one per spatial dimension) for spacing but received 3 entries: [1, 1, 1]'],
  ['spacing not an array', () => distanceTransform(m6, [2, 3], { spacing: 1 as never }), 'TypeError', 'Expected an array of 2 positive numbers for spacing but received 1'],
  ['spacing zero', () => distanceTransform(m6, [2, 3], { spacing: [1, 0] }), 'RangeError', 'Expected a number in [1e-12, 1e12] for spacing[1] but received 0'],
  ['spacing negative', () => distanceTransform(m6, [2, 3], { spacing: [-1, 1] }), 'RangeError', 'Expected a number in [1e-12, 1e12] for spacing[0] but received -1'],
  ['spacing NaN', () => distanceTransform(m6, [2, 3], { spacing: [Number.NaN, 1] }), 'RangeError', 'Expected a number in [1e-12, 1e12] for spacing[0] but received NaN'],
  ['spacing too small', () => distanceTransform(m6, [2, 3], { spacing: [1e-13, 1] }), 'RangeError', 'Expected a number in [1e-12, 1e12] for spacing[0] but received 1e-13'],
  ['spacing Infinity', () => distanceTransform(m6, [2, 3], { spacing: [1, Infinity] }), 'RangeError', 'Expected a number in [1e-12, 1e12] for spacing[1] but received Infinity'],
  // Regression (issue 11): an out over the mask's bytes gave wrong distances for batches (each map's result overwrote the next masks).
  ['out overlapping the mask', () => { const b = new ArrayBuffer(48); return distanceTransform(new Uint8Array(b, 0, 6), [2, 3], { out: new Float64Array(b, 0, 6) }); }, 'RangeError', 'Expected an array that does not overlap the mask for out but received a view overlapping mask'],
  ['float32 not boolean', () => distanceTransform(m6, [2, 3], { float32: 1 as never }), 'TypeError', 'Expected a boolean for float32 but received 1'],
  ['unknown option', () => distanceTransform(m6, [2, 3], { spacings: [1, 1] } as never), 'RangeError', "Expected one of dims, float32, out, spacing for an option name of distanceTransform but received 'spacings'"],
  ['out of the wrong type', () => distanceTransform(m6, [2, 3], { out: new Uint8Array(6) as never }), 'TypeError', 'Expected a Float64Array or Float32Array for out but received Uint8Array of length 6'],
  ['out of the wrong length', () => distanceTransform(m6, [2, 3], { out: new Float64Array(5) }), 'RangeError', "Expected length 6 (the mask's length) for out but received length 5"],
  ['out disagreeing with float32', () => distanceTransform(m6, [2, 3], { out: new Float64Array(6), float32: true }), 'RangeError', 'Expected a Float32Array (float32: true) for out but received Float64Array of length 6'],
  ['options not an object', () => distanceTransform(m6, [2, 3], 5 as never), 'TypeError', 'Expected an object for options but received 5'],
];

describe('distanceTransform argument errors', () => {
  it.each(badCalls)('%s', (_name, call, type, message) => {
    const error = thrownBy(call);
    expect(error?.name).toBe(type);
    expect(error?.message).toBe(message);
    expect(error?.code).toBe('SEGLOSS_INVALID_ARGUMENT');
  });
});
