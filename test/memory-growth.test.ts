// No leaks: many calls of each kind leave resident memory flat. Each kind runs in its own child
// process (test/helpers/rss-growth.cjs, --expose-gc): as many warm-up calls as measured ones (so
// V8's heap has finished growing), garbage collected, RSS recorded, the measured calls, garbage
// collected, RSS again. A leak of 200 bytes per call over 100,000 calls would exceed the bound;
// the trainer cycles (each a trainer created, trained one step and disposed) run 1,000 in all.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { torchAvailable } from '../src/torch/index';

const root = path.resolve(__dirname, '..');
const script = path.join(__dirname, 'helpers', 'rss-growth.cjs');
const BOUND_MB = 20;

interface Growth {
  kind: string;
  calls: number;
  baselineMB: number;
  growthMB: number;
  check: number | string;
}

function measure(kind: string, calls: number): Promise<Growth> {
  return new Promise((resolve, reject) => {
    // The trainer cycles use one libtorch thread: they measure memory, and a thread pool on a busy
    // machine makes each tiny step wait (2 threads: about 20× slower under load).
    const env = kind === 'trainerCycles' ? { ...process.env, OMP_NUM_THREADS: '1' } : process.env;
    const child = spawn(process.execPath, ['--expose-gc', script, kind, String(calls)], { cwd: root, timeout: 120_000, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code, signal) => {
      if (code !== 0) reject(new Error(`rss-growth ${kind} exited with ${code ?? signal}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Growth);
    });
  });
}

// [kind, measured calls, what the last call returns]
const kinds: [string, number, (check: number | string) => void][] = [
  ['computeLoss', 100_000, (v) => expect(v).toBeCloseTo(0.95997, 4)], // 0.5·Dice + 0.5·CE with a gradient, a new array per call
  ['computeLossGradOut', 100_000, (v) => expect(v).toBeCloseTo(0.66796, 4)], // Tversky into a reused gradOut
  ['computeLossErrors', 50_000, (v) => expect(v).toBe('SEGLOSS_INVALID_ARGUMENT')], // labels refused by the engine, explained in TypeScript
  ['distanceTransform', 100_000, (v) => expect(v).toBe(1.5)],
  ['distanceMap', 50_000, (v) => expect(v).toBeCloseTo(-Math.SQRT2 + 1, 12)],
  ['metrics', 20_000, (v) => expect(v).toBeGreaterThan(1)], // hd95 + evaluateVolume + meanIoU per call
  ['computeLossAsync', 20_000, (v) => expect(v).toBeCloseTo(0.924, 3)], // 16 in flight at a time
  ['distanceTransformAsync', 20_000, (v) => expect(v).toBe(Math.SQRT2)],
  ...(torchAvailable() ? [['trainerCycles', 500, (v: number | string) => expect(v).toBe(1)] as [string, number, (check: number | string) => void]] : []), // + 500 warm-up: 1,000 create / one-step / dispose
];
if (!torchAvailable()) {
  if (process.env.SEGLOSS_REQUIRE_TORCH === '1') throw new Error('SEGLOSS_REQUIRE_TORCH=1 but the torch addon is not available');
  console.warn('test/memory-growth.test.ts: the trainer cycles are skipped (no torch addon)');
}

describe.concurrent('resident memory stays flat', () => {
  it.each(kinds)('%s × %i: RSS grows < 20 MB', async (kind, calls, checkValue) => {
    const growth = await measure(kind, calls);
    expect(growth.calls).toBe(calls);
    checkValue(growth.check);
    expect(growth.baselineMB).toBeGreaterThan(20); // a real measurement
    expect(growth.growthMB, `${kind}: ${growth.baselineMB.toFixed(1)} MB → +${growth.growthMB.toFixed(2)} MB`).toBeLessThan(BOUND_MB);
  }, 150_000);
});
