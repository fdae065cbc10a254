// Property-based hostile inputs (fast-check) against every exported loss, geometry, metric and
// introspection function: test/helpers/property-battery.cjs runs each group in its own child
// process (a crash is a dead child and names the case it died on, not a dead test runner) and
// reports { cases, values, errors, byCode, problems }. Each group must run all its cases with no
// problem: valid calls succeed with finite, documented results equal bit for bit across sync /
// async and equivalent buffers (SharedArrayBuffer, offset views, length-tracking views), declared
// mutations give exactly their error, everything else a value or an Error of a known code, and a
// known-good canary is unchanged after every 200 cases.
//
// Environment: SEGLOSS_FUZZ_SEED (default a fixed seed, so CI is reproducible; 'random' for a new
// one, printed on failure), SEGLOSS_FUZZ_SCALE (multiplies the runs, default 1).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { torchAvailable } from '../src/torch/index';

const root = path.resolve(__dirname, '..');
const battery = path.join(__dirname, 'helpers', 'property-battery.cjs');
const scale = Number(process.env.SEGLOSS_FUZZ_SCALE ?? 1);
const seed = process.env.SEGLOSS_FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.SEGLOSS_FUZZ_SEED ?? 20261201);
const requireTorch = process.env.SEGLOSS_REQUIRE_TORCH === '1';

interface Summary {
  cases: number;
  values: number;
  errors: number;
  byCode: Record<string, number>;
  problems: string[];
  skipped?: string;
}

// The groups and their runs: 48,000 cases without the torch addon, 54,000 with it (about 20 s
// on 2 cores; the sanitizer build runs a fifth of them). The trainer's cases each create, train,
// evaluate and predict with a tiny UNet (or are refused before), so they are fewer.
const groups: [string, number][] = (
  [
    ['losses', 20000],
    ['losses-async', 10000],
    ['geometry', 10000],
    ['metrics', 6000],
    ['introspection', 2000],
    ['torch', 5000],
    ['trainer', 1000],
  ] as [string, number][]
).map(([group, runs]) => [group, Math.round(runs * scale)]);

function runGroup(group: string, runs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; trace: string }> {
  const tracePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-fuzz-')), 'case.txt');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [battery, group, String(runs), String(seed)], {
      cwd: root,
      // trainer: one libtorch thread (each case's steps are tiny; a pool on a busy machine makes them wait)
      env: { ...process.env, SEGLOSS_FUZZ_TRACE: tracePath, ...(group === 'trainer' ? { OMP_NUM_THREADS: '1' } : {}) },
      timeout: 170_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code, signal) => {
      const trace = fs.existsSync(tracePath) ? fs.readFileSync(tracePath, 'utf8') : '';
      resolve({ code, signal, stdout, stderr, trace });
    });
  });
}

describe.concurrent('property-based hostile inputs (fast-check, child processes)', () => {
  it.each(groups)('%s: %i cases, no crash, hang, wrong error or corrupted later result', async (group, runs) => {
    expect(fs.existsSync(path.join(root, 'lib', 'index.js')), 'lib/ is missing: run `npm run build:ts`').toBe(true);
    if ((group === 'torch' || group === 'trainer') && !torchAvailable()) {
      expect(requireTorch, 'SEGLOSS_REQUIRE_TORCH=1 but the torch addon is not available').toBe(false);
      return;
    }
    const child = await runGroup(group, runs);
    const died = `seed ${seed}; last case: ${child.trace.trim()}\n${child.stderr.slice(-2000)}`;
    expect(child.signal, died).toBeNull();
    expect(child.code, died).toBe(0);
    const summary = JSON.parse(child.stdout.trim().split('\n').pop()!) as Summary;
    expect(summary.problems, `seed ${seed}`).toEqual([]);
    expect(summary.cases).toBe(runs);
    // Both outcomes are exercised in volume: valid calls and refused ones.
    expect(summary.values).toBeGreaterThan((group === 'torch' ? 0.05 : 0.2) * summary.cases); // torch: most devices are refused
    expect(summary.errors).toBeGreaterThan(0.2 * summary.cases);
    expect(summary.byCode.SEGLOSS_INVALID_ARGUMENT).toBeGreaterThan(0.1 * summary.cases);
    if (group !== 'introspection') expect(summary.byCode.HOSTILE, 'throwing getters pass their own error through').toBeGreaterThan(0);
    if (group === 'losses-async' || group === 'geometry') {
      expect(summary.byCode.SEGLOSS_NATIVE, 'outputs transferred mid-call reject').toBeGreaterThan(0);
    }
  }, 180_000);
});
