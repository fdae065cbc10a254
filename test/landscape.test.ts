// `segloss landscape` (src/cli/landscape.ts), the survey's Figure 3: every loss for a confident
// prediction shifted away from a large and a small square. Checked against closed forms
// (cross-entropy and Dice of the shifted squares), monotone growth with the shift, and the files.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { LANDSCAPE_DEFAULTS, landscapeCsv, landscapeRows } from '../src/cli/landscape';
import { main } from '../src/cli/segloss';
import { lossNames } from '../src/losses/registry';
import { tempFolder } from './helpers/trainer';

const folder = tempFolder('segloss-landscape-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

const rows = landscapeRows();
const value = (object: string, loss: string, shift: number): number => rows.find((r) => r.object === object && r.loss === loss && r.shift === shift)!.value;

describe('segloss landscape', () => {
  it('has every loss at every shift for both objects', () => {
    expect(rows).toHaveLength(2 * (LANDSCAPE_DEFAULTS.maxShift + 1) * lossNames.length);
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
  // parity): it is only required to end higher than it starts.
  const structural = ['rmi'];

  it('RMI ends higher than it starts', () => {
    for (const object of ['large', 'small']) {
      for (const loss of structural.filter((l) => (lossNames as readonly string[]).includes(l))) {
        expect(value(object, loss, LANDSCAPE_DEFAULTS.maxShift), `${object} ${loss}`).toBeGreaterThan(value(object, loss, 0));
      }
    }
  });

  it('every other loss grows (never falls) as the prediction moves off the object, and is flat once they are apart', () => {
    for (const [object, side] of [['large', LANDSCAPE_DEFAULTS.large], ['small', LANDSCAPE_DEFAULTS.small]] as const) {
      for (const loss of lossNames.filter((l) => !structural.includes(l))) {
        const v = Array.from({ length: LANDSCAPE_DEFAULTS.maxShift + 1 }, (_, s) => value(object, loss, s));
        for (let s = 1; s < v.length; s++) expect(v[s], `${object} ${loss} ${s}`).toBeGreaterThanOrEqual(v[s - 1] - 1e-12);
        expect(v[side + 1]).toBeCloseTo(v.at(-1) as number, 12);
        expect(v[side]).toBeGreaterThan(v[0]);
      }
    }
  });

  it('writes landscape.csv and landscape.svg', async () => {
    const out = path.join(folder, 'out');
    let stdout = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
    try {
      expect(await main(['landscape', '--out', out, '--max-shift', '8'])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(stdout).toContain('landscape.csv');
    const csv = fs.readFileSync(path.join(out, 'landscape.csv'), 'utf8');
    expect(csv).toBe(landscapeCsv(landscapeRows({ ...LANDSCAPE_DEFAULTS, maxShift: 8 })));
    const svg = fs.readFileSync(path.join(out, 'landscape.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/class="mark-line role-mark/g)?.length).toBe(2 * lossNames.length); // a line per loss in each panel
  });
});
