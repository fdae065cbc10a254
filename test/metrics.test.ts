// metrics: DSC / HD95 against medpy's algorithm re-run with scipy (fixtures), TransUNet's and the
// strict empty-mask policies, the per-volume helper, confusion matrix and mIoU with ignore and
// absent classes, async + abort, and exact argument errors.
import { describe, expect, it } from 'vitest';

import { metrics } from '../src/index';
import { loadGeometryFixture, maskOf, numbersOf, scipyAvailable, scipyHausdorff95, type LiveHd95Case } from './helpers/geometry-fixtures';
import { expectClose, rng } from './helpers/numeric';
import { thrownBy } from './helpers/errors';

const fixture = loadGeometryFixture();

function expectMetric(actual: number, expected: number, what: string): void {
  if (expected === Infinity) expect(actual, what).toBe(Infinity);
  else expectClose(actual, expected, 1e-9, 1e-12, what);
}

describe('metrics.dice / metrics.hausdorff95 vs medpy (dc, hd95) re-run with scipy', () => {
  it('covers the edge cases', () => {
    const names = fixture.metrics.map((c) => c.name);
    for (const name of ['empty prediction', 'empty target', 'both empty', 'single pixels', 'touching borders', 'single voxel volumes']) {
      expect(names).toContain(name);
    }
    expect(fixture.metrics.some((c) => c.shape.length === 3 && c.spacing)).toBe(true);
  });

  const cases = fixture.metrics.flatMap((c) => (['transunet', 'strict'] as const).map((policy) => [`${c.name} ${policy}`, c, policy] as const));
  it.each(cases)('%s', (_name, c, policy) => {
    const [dice, hd95] = numbersOf(c[policy]);
    const pred = maskOf(c.pred), target = maskOf(c.target);
    expectMetric(metrics.dice(pred, target, c.shape, { policy }), dice, 'dice');
    expectMetric(metrics.hausdorff95(pred, target, c.shape, { policy, ...(c.spacing ? { spacing: c.spacing } : {}) }), hd95, 'hd95');
  });

  it('default policy is TransUNet: prediction without target → (1, 0), no prediction → (0, 0)', () => {
    const some = new Uint8Array([0, 1, 1, 0]), none = new Uint8Array(4);
    expect([metrics.dice(some, none, [2, 2]), metrics.hausdorff95(some, none, [2, 2])]).toEqual([1, 0]);
    expect([metrics.dice(none, some, [2, 2]), metrics.hausdorff95(none, some, [2, 2])]).toEqual([0, 0]);
    expect([metrics.dice(none, none, [2, 2]), metrics.hausdorff95(none, none, [2, 2])]).toEqual([0, 0]);
    expect([metrics.dice(none, none, [2, 2], { policy: 'strict' }), metrics.hausdorff95(none, none, [2, 2], { policy: 'strict' })]).toEqual([1, 0]);
    expect(metrics.hausdorff95(some, none, [2, 2], { policy: 'strict' })).toBe(Infinity);
  });

  it('hd95 pools both directions before the percentile (not the max of two percentiles)', () => {
    // pred: one pixel at (0, 0); target: a row of 20 pixels at y = 3. Directed pred→target: [3];
    // target→pred: sqrt(9 + x²). The pooled 95th percentile interpolates the 21 values.
    const pred = new Uint8Array(4 * 20), target = new Uint8Array(4 * 20);
    pred[0] = 1;
    target.fill(1, 60, 80);
    const pooled = [3, ...Array.from({ length: 20 }, (_, x) => Math.sqrt(9 + x * x))].sort((a, b) => a - b);
    const v = 0.95 * (pooled.length - 1), lo = Math.floor(v);
    const expected = pooled[lo] + (pooled[lo + 1] - pooled[lo]) * (v - lo);
    expectClose(metrics.hausdorff95(pred, target, [4, 20]), expected, 1e-12, 0, 'hd95');
  });
});

describe.skipIf(!scipyAvailable())('metrics.hausdorff95 vs medpy in scipy, live (python3-scipy installed)', () => {
  it('random blob pairs, 2-D and anisotropic 3-D, with noise voxels', () => {
    const random = rng(95);
    const blob = (shape: number[], n: number): Uint8Array => {
      const centre = shape.map((s) => random() * s), radius = shape.map((s) => 2 + random() * s * 0.5);
      const out = new Uint8Array(n);
      for (let i = 0; i < n; ++i) {
        let rest = i, t = 0;
        for (let a = shape.length - 1; a >= 0; --a) {
          const x = rest % shape[a];
          rest = Math.floor(rest / shape[a]);
          t += ((x - centre[a]) / radius[a]) ** 2;
        }
        out[i] = t <= 1 || random() < 0.002 ? 1 : 0;
      }
      return out;
    };
    const cases: LiveHd95Case[] = [];
    for (let k = 0; k < 12; ++k) {
      const shape = k % 2 ? [10 + Math.floor(random() * 20), 30 + Math.floor(random() * 40), 30 + Math.floor(random() * 40)] : [40 + Math.floor(random() * 80), 40 + Math.floor(random() * 80)];
      const n = shape.reduce((a, b) => a * b, 1);
      const spacing = shape.map(() => 0.3 + 3 * random());
      cases.push({ shape, spacing, pred: blob(shape, n), target: blob(shape, n) });
    }
    const expected = scipyHausdorff95(cases);
    cases.forEach((c, i) => expectClose(metrics.hausdorff95(c.pred, c.target, c.shape, { spacing: c.spacing }), expected[i], 1e-9, 0, `case ${i}`));
  });
});

describe('metrics.evaluateVolume (TransUNet test_single_volume metric list)', () => {
  const cases = fixture.volumes.flatMap((c, i) => (['transunet', 'strict'] as const).map((policy) => [`volume ${i} ${policy}`, c, policy] as const));
  it.each(cases)('%s', (_name, c, policy) => {
    const pred = Uint8Array.from(c.pred), target = Uint8Array.from(c.target);
    const r = metrics.evaluateVolume(pred, target, c.shape, c.classes, { policy, ...(c.spacing ? { spacing: c.spacing } : {}) });
    const expected = c[policy].map(numbersOf);
    expect(r.dice.length).toBe(c.classes - 1);
    expected.forEach(([dice, hd95], k) => {
      expectMetric(r.dice[k], dice, `dice[${k}]`);
      expectMetric(r.hd95[k], hd95, `hd95[${k}]`);
    });
    expectClose(r.meanDice, expected.reduce((a, [d]) => a + d, 0) / expected.length, 1e-12, 1e-15, 'meanDice');
    // The same from Int32Array labels and from the async variant.
    const r32 = metrics.evaluateVolume(Int32Array.from(c.pred), Int32Array.from(c.target), c.shape, c.classes, { policy, ...(c.spacing ? { spacing: c.spacing } : {}) });
    expect(Array.from(r32.hd95)).toEqual(Array.from(r.hd95));
  });

  it('evaluateVolumeAsync equals evaluateVolume; an aborted signal rejects with AbortError', async () => {
    const c = fixture.volumes[1];
    const pred = Uint16Array.from(c.pred), target = Uint16Array.from(c.target);
    const sync = metrics.evaluateVolume(pred, target, c.shape, c.classes, { spacing: c.spacing ?? undefined });
    const pending = metrics.evaluateVolumeAsync(pred, target, c.shape, c.classes, { spacing: c.spacing ?? undefined });
    pred.fill(0); // copied at the call
    expect(await pending).toEqual(sync);
    const controller = new AbortController();
    controller.abort();
    const error = (await metrics.evaluateVolumeAsync(pred, target, c.shape, c.classes, { signal: controller.signal }).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('AbortError');
  });
});

describe('metrics.confusionMatrix / meanIoU vs numpy', () => {
  it.each(fixture.iou.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    const options = c.ignoreIndex === null ? {} : { ignoreIndex: c.ignoreIndex };
    const pred = Int32Array.from(c.pred), target = Int32Array.from(c.target);
    expect(Array.from(metrics.confusionMatrix(pred, target, c.classes, options))).toEqual(c.matrix);
    const r = metrics.meanIoU(pred, target, c.classes, options);
    expect(Array.from(r.perClassIoU)).toEqual(numbersOf(c.perClassIoU).map((v) => (v === Infinity ? Number.NaN : v)));
    expectClose(r.meanIoU, c.meanIoU, 1e-12, 0, 'meanIoU');
    const fromMatrix = metrics.meanIoUFromConfusionMatrix(Float64Array.from(c.matrix), c.classes);
    expect(fromMatrix.meanIoU).toBe(r.meanIoU);
  });

  it('absent classes are NaN and left out of the mean; ignored pixels count nowhere', () => {
    const pred = new Uint8Array([0, 1, 1, 2, 0]);
    const target = new Uint8Array([0, 1, 0, 255, 255]);
    const r = metrics.meanIoU(pred, target, 4, { ignoreIndex: 255 });
    expect(Array.from(r.perClassIoU)).toEqual([0.5, 0.5, Number.NaN, Number.NaN]);
    expect(r.meanIoU).toBe(0.5);
    expect(Array.from(metrics.confusionMatrix(pred, target, 2, { ignoreIndex: 255 }))).toEqual([1, 1, 0, 1]);
  });

  it('all pixels ignored: every class NaN, meanIoU NaN', () => {
    const r = metrics.meanIoU(new Uint8Array([0, 1]), new Uint8Array([9, 9]), 2, { ignoreIndex: 9 });
    expect(Number.isNaN(r.meanIoU)).toBe(true);
  });
});

type BadCall = [string, () => unknown, 'TypeError' | 'RangeError', string];
const m4 = new Uint8Array(4);
const detached = <T extends Uint8Array | Uint16Array>(labels: T): T => {
  structuredClone(labels.buffer, { transfer: [labels.buffer as ArrayBuffer] });
  return labels;
};
const l4 = new Int32Array([0, 1, 2, 3]);
const badCalls: BadCall[] = [
  ['pred not a Uint8Array', () => metrics.dice(new Int32Array(4) as never, m4, [2, 2]), 'TypeError', 'Expected a Uint8Array for pred but received Int32Array of length 4'],
  ['target length', () => metrics.hausdorff95(m4, new Uint8Array(5), [2, 2]), 'RangeError', 'Expected length 4 (the product of shape [2, 2]) for target but received length 5'],
  ['metric shape rank', () => metrics.hausdorff95(m4, m4, [4]), 'RangeError', 'Expected 2 or 3 entries ([H, W], [D, H, W], or [N, H, W] / [N, D, H, W] with dims) for shape but received 1 entries'],
  ['hd95 spacing length', () => metrics.hausdorff95(m4, m4, [2, 2], { spacing: [1] }), 'RangeError', 'Expected 2 entries (one per spatial dimension) for spacing but received 1 entries: [1]'],
  ['hd95 spacing 0', () => metrics.hausdorff95(m4, m4, [2, 2], { spacing: [1, 0] }), 'RangeError', 'Expected a number in [1e-12, 1e12] for spacing[1] but received 0'],
  ['policy unknown', () => metrics.dice(m4, m4, [2, 2], { policy: 'medpy' as never }), 'RangeError', "Expected one of 'transunet', 'strict' for policy but received 'medpy'"],
  ['dims not a metric option', () => metrics.hausdorff95(m4, m4, [2, 2], { dims: 2 } as never), 'RangeError', "Expected one of policy, spacing for an option name of metrics.hausdorff95 but received 'dims'"],
  ['numClasses 0', () => metrics.confusionMatrix(l4, l4, 0), 'RangeError', 'Expected an integer in [1, 4096] for numClasses but received 0'],
  ['numClasses string', () => metrics.meanIoU(l4, l4, '4' as never), 'TypeError', "Expected an integer for numClasses but received '4'"],
  ['target label ≥ numClasses', () => metrics.confusionMatrix(l4, new Int32Array([0, 1, 7, 0]), 4), 'RangeError', 'Expected class indices in [0, 4) for target but received 7 at index 2'],
  ['target label with ignore', () => metrics.meanIoU(l4, new Int32Array([0, 255, -1, 0]), 4, { ignoreIndex: 255 }), 'RangeError', 'Expected class indices in [0, 4) or the ignoreIndex 255 for target but received -1 at index 2'],
  ['pred label ≥ numClasses', () => metrics.meanIoU(new Int32Array([0, 4, 0, 0]), l4, 4), 'RangeError', 'Expected class indices in [0, 4) for pred but received 4 at index 1'],
  ['labels of different lengths', () => metrics.confusionMatrix(l4, new Int32Array(3), 4), 'RangeError', 'Expected length 4 (the length of pred) for target but received length 3'],
  ['labels not integer arrays', () => metrics.confusionMatrix([0, 1] as never, l4, 4), 'TypeError', 'Expected a Uint8Array, Uint16Array or Int32Array for pred but received [0, 1]'],
  ['ignoreIndex fractional', () => metrics.confusionMatrix(l4, l4, 4, { ignoreIndex: 0.5 }), 'RangeError', 'Expected an integer for ignoreIndex but received 0.5'],
  ['evaluateVolume numClasses 1', () => metrics.evaluateVolume(m4, m4, [2, 2], 1), 'RangeError', 'Expected an integer in [2, 4096] for numClasses but received 1'],
  ['evaluateVolume length', () => metrics.evaluateVolume(m4, m4, [2, 3], 3), 'RangeError', 'Expected length 6 (the product of shape [2, 3]) for pred but received length 4'],
  // Regression (issue 11): detached label arrays of two types were copied with Int32Array.from, an engine TypeError.
  ['detached labels of two types', () => metrics.evaluateVolume(detached(new Uint16Array(4)), detached(new Uint8Array(4)), [2, 2], 3), 'RangeError', 'Expected length 4 (the product of shape [2, 2]) for pred but received length 0'],
  ['matrix length', () => metrics.meanIoUFromConfusionMatrix(new Float64Array(3), 2), 'RangeError', 'Expected length 4 (numClasses²) for matrix but received length 3'],
  ['matrix negative', () => metrics.meanIoUFromConfusionMatrix(new Float64Array([1, -1, 0, 0]), 2), 'RangeError', 'Expected finite counts ≥ 0 for matrix but received -1 at index 1'],
];

describe('metrics argument errors', () => {
  it.each(badCalls)('%s', (_name, call, type, message) => {
    const error = thrownBy(call);
    expect(error?.message).toBe(message);
    expect(error?.name).toBe(type);
    expect(error?.code).toBe('SEGLOSS_INVALID_ARGUMENT');
  });
});
