// `segloss landscape` (src/cli/landscape.ts), the survey's Figure 3: every loss for a confident
// prediction shifted away from a large and a small square. Checked against closed forms
// (cross-entropy and Dice of the shifted squares), monotone growth with the shift, and the files.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { LANDSCAPE_DEFAULTS, landscapeCsv, landscapeRows } from '../src/cli/landscape';
import { combinableLossNames } from '../src/losses/registry';
import { runCli } from './helpers/cli';
import { tempFolder } from './helpers/trainer';

const folder = tempFolder('segloss-landscape-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

const rows = landscapeRows();
const value = (object: string, loss: string, shift: number): number => rows.find((r) => r.object === object && r.loss === loss && r.shift === shift)!.value;

describe('segloss landscape', () => {
  it('has every loss at every shift for both objects', () => {
    expect(rows).toHaveLength(2 * (LANDSCAPE_DEFAULTS.maxShift + 1) * combinableLossNames.length);
    for (const r of rows) expect(Number.isFinite(r.value), `${r.object} ${r.loss} ${r.shift}`).toBe(true);
  });

  it('cross-entropy and Dice equal their closed forms', () => {
    const { size, large } = LANDSCAPE_DEFAULTS;
    const n = size * size;
    for (const shift of [0, 6, 24, 30]) {
      const overlap = Math.max(0, large - shift) * large; // pixels in both squares
      const wrong = 2 * (large * large - overlap); // predicted-only and target-only pixels
      expect(value('large', 'cross-entropy', shift)).toBeCloseTo(((n - wrong) * -Math.log(0.95) + wrong * -Math.log(0.05)) / n, 10);
      // Soft Dice per class (smooth 1e-5), background included, pooled over the one image.
      const g1 = large * large;
      const i1 = 0.95 * overlap + 0.05 * (g1 - overlap);
      const p1 = 0.95 * g1 + 0.05 * (n - g1);
      const i0 = 0.95 * (n - g1 - (g1 - overlap)) + 0.05 * (g1 - overlap);
      const p0 = n - p1;
      const g0 = n - g1;
      const d = (i: number, p: number, g: number) => (2 * i + 1e-5) / (p + g + 1e-5);
      expect(value('large', 'dice', shift)).toBeCloseTo(1 - (d(i1, p1, g1) + d(i0, p0, g0)) / 2, 6);
    }
  });

  // RMI compares neighbourhoods after downsampling, so once the squares are apart its value still
  // depends on where the prediction sits against its pooling grid (it alternates with the shift's
  // parity). distance-map-ce weighs each pixel's CE by 1 + Φ, Φ largest next to the target's
  // boundary and falling away from it (spec 4), so a wrong prediction far from the object costs
  // less than one beside it; hausdorff-dt weighs the residual over the whole image by the squared
  // distance maps of the target and of the moving prediction, which is not monotone in the shift.
  // These are only required to end higher than they start.
  const structural = ['rmi', 'distance-map-ce', 'hausdorff-dt'];
  // Losses that measure how far the prediction is from the object: they never fall and keep
  // growing after the squares are apart (the survey's point about boundary losses in Figure 3).
  const distanceAware = ['boundary', 'region-wise'];
  // active-boundary never falls; apart, its boundary pixels' distance weight min(D, 20)/20 is
  // saturated for the large square and still growing for the small one.
  const monotoneOnly = ['active-boundary'];
  const shifts = (object: string, loss: string) => Array.from({ length: LANDSCAPE_DEFAULTS.maxShift + 1 }, (_, s) => value(object, loss, s));
  const objects = [['large', LANDSCAPE_DEFAULTS.large], ['small', LANDSCAPE_DEFAULTS.small]] as const;
  const neverFalls = (v: number[], what: string) => {
    for (let s = 1; s < v.length; s++) expect(v[s], `${what} ${s}`).toBeGreaterThanOrEqual(v[s - 1] - 1e-12);
  };

  it('RMI, distance-map-ce and hausdorff-dt end higher than they start', () => {
    for (const [object] of objects) {
      for (const loss of structural) {
        expect(value(object, loss, LANDSCAPE_DEFAULTS.maxShift), `${object} ${loss}`).toBeGreaterThan(value(object, loss, 0));
      }
    }
  });

  it('boundary and region-wise never fall and keep growing once the squares are apart; active-boundary never falls', () => {
    for (const [object, side] of objects) {
      for (const loss of distanceAware) {
        const v = shifts(object, loss);
        neverFalls(v, `${object} ${loss}`);
        expect(v.at(-1) as number, `${object} ${loss}`).toBeGreaterThan(v[side + 1]);
      }
      for (const loss of monotoneOnly) neverFalls(shifts(object, loss), `${object} ${loss}`);
    }
  });

  it('every pixel and region loss grows (never falls) as the prediction moves off the object, and is flat once they are apart', () => {
    const others = combinableLossNames.filter((l) => ![...structural, ...distanceAware, ...monotoneOnly].includes(l));
    expect(others.length).toBeGreaterThan(15);
    for (const [object, side] of objects) {
      for (const loss of others) {
        const v = shifts(object, loss);
        neverFalls(v, `${object} ${loss}`);
        expect(v[side + 1], `${object} ${loss}`).toBeCloseTo(v.at(-1) as number, 12);
        expect(v[side], `${object} ${loss}`).toBeGreaterThan(v[0]);
      }
    }
  });

  it('writes landscape.csv and landscape.svg', async () => {
    const out = path.join(folder, 'out');
    const { code, stdout } = await runCli(['landscape', '--out', out, '--max-shift', '8']);
    expect(code).toBe(0);
    expect(stdout).toContain('landscape.csv');
    const csv = fs.readFileSync(path.join(out, 'landscape.csv'), 'utf8');
    expect(csv).toBe(landscapeCsv(landscapeRows({ ...LANDSCAPE_DEFAULTS, maxShift: 8 })));
    const svg = fs.readFileSync(path.join(out, 'landscape.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/class="mark-line role-mark/g)?.length).toBe(2 * combinableLossNames.length); // a line per loss in each panel
  });
});
