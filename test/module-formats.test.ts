// The built package (lib/) loads by name with require() and with import, exposes the same names
// both ways, and does not load the native addon until the first loss call.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
}

const cjsScript = `
const segloss = require('segloss');
const nativeLoaded = () => Object.keys(require.cache).some((f) => f.endsWith('.node'));
const before = nativeLoaded();
const r = segloss.computeLoss('cross-entropy', { logits: new Float64Array([2, 0, 0, 2]), target: new Uint8Array([0, 1]), shape: [1, 2, 1, 2] });
console.log(JSON.stringify({ names: Object.keys(segloss).sort(), before, after: nativeLoaded(), value: r.value }));
`;

const esmScript = `
import * as segloss from 'segloss';
import { computeLoss, computeLossAsync, lossNames } from 'segloss';
const r = await computeLossAsync('dice', { logits: new Float32Array([1, -1]), target: new Uint8Array([0]), shape: [1, 2, 1, 1] });
console.log(JSON.stringify({ names: Object.keys(segloss).filter((n) => n !== 'default').sort(), lossNames, sync: typeof computeLoss, value: r.value }));
`;

describe('module formats (lib/)', () => {
  it('require("segloss") works and loads the addon lazily', () => {
    const out = JSON.parse(node(['-e', cjsScript])) as { names: string[]; before: boolean; after: boolean; value: number };
    expect(out.names).toEqual(expect.arrayContaining(['computeLoss', 'computeLossAsync', 'lossNames', 'lossOptionNames']));
    expect(out.before).toBe(false);
    expect(out.after).toBe(true);
    expect(out.value).toBeCloseTo(Math.log(1 + Math.exp(-2)), 14);
  });

  it('import … from "segloss" gives the same named exports', () => {
    const cjs = JSON.parse(node(['-e', cjsScript])) as { names: string[] };
    const esm = JSON.parse(node(['--input-type=module', '-e', esmScript])) as {
      names: string[];
      lossNames: string[];
      sync: string;
      value: number;
    };
    expect(esm.names).toEqual(cjs.names);
    expect(esm.lossNames).toEqual([
      'cross-entropy', 'topk', 'focal', 'distance-map-ce', 'dice', 'log-cosh-dice', 'generalized-wasserstein-dice', 'jaccard', 'lovasz-softmax', 'tversky', 'focal-tversky', 'sensitivity-specificity',
      'rmi', 'robust-t', 'boundary', 'hausdorff-dt', 'boundary-aware', 'active-boundary', 'inverseform', 'conditional-boundary', 'boundary-dou',
      'region-wise', 'combo', 'exp-log', 'unified-focal',
    ]);
    expect(esm.sync).toBe('function');
    const p = 1 / (1 + Math.exp(-2)); // softmax([1, −1]) for class 0
    expect(esm.value).toBeCloseTo(1 - ((2 * p + 1e-5) / (p + 1 + 1e-5) + 1e-5 / (1 - p + 1e-5)) / 2, 6);
  });
});
