// Concurrency: the core addon is context-aware (it loads and works in worker_threads, several at
// once, with results equal bit for bit to the main thread's); workers terminated while their
// async calls run do not take the process down; 32 concurrent computeLossAsync calls equal the
// same calls made one at a time.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, lossNames } from '../src';

const root = path.resolve(__dirname, '..');
const body = path.join(__dirname, 'helpers', 'worker-compute.cjs');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { compute } = require(body) as { compute: (seed: number) => Promise<Record<string, unknown>> };

function runWorker(seed: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(body, { workerData: { seed } });
    worker.once('message', (message: Record<string, unknown>) => {
      void worker.terminate();
      if (message.error) reject(new Error(String(message.error)));
      else resolve(message);
    });
    worker.once('error', reject);
  });
}

const bytes = (a: unknown) => Buffer.from((a as Float32Array).buffer, (a as Float32Array).byteOffset, (a as Float32Array).byteLength);

describe('worker_threads', () => {
  it('four workers at once compute the main thread\'s losses, distance transforms and metrics bit for bit', async () => {
    const seeds = [0, 1, 2, 3];
    const fromWorkers = await Promise.all([...seeds, ...seeds].map(runWorker));
    for (const [i, result] of fromWorkers.entries()) {
      const expected = await compute(seeds[i % 4]);
      expect(result.value).toBe(expected.value);
      expect(result.asyncValue).toBe(expected.asyncValue);
      expect(result.hd95).toBe(expected.hd95);
      for (const key of ['grad', 'asyncGrad', 'edt', 'edtAsync']) {
        expect(bytes(result[key]).equals(bytes(expected[key])), key).toBe(true);
      }
    }
    // The seeds give different results (the comparison is not trivially equal).
    expect(new Set(fromWorkers.slice(0, 4).map((r) => r.value)).size).toBe(4);
    expect(fromWorkers[0].value as number).toBeGreaterThan(0);
  });

  it('workers terminated during async calls leave the process running', () => {
    const child = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'terminate-workers.cjs')], { cwd: root, encoding: 'utf8', timeout: 90_000 });
    expect(child.signal, child.stderr).toBeNull();
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toMatch(/^ok 0\.\d+/);
  }, 100_000);
});

describe('32 concurrent computeLossAsync calls', () => {
  it('equal the sequential results bit for bit, each loss and a compound objective', async () => {
    const shape = [2, 3, 17, 13] as const;
    const n = 2 * 3 * 17 * 13;
    const calls = Array.from({ length: 32 }, (_, k) => {
      const logits = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.01 * (k + 1)) * 4);
      const target = Uint8Array.from({ length: 2 * 17 * 13 }, (_, i) => (i + k) % 3);
      const loss = k % 8 < lossNames.length ? lossNames[k % 8] : [{ loss: 'dice' as const, weight: 0.3 }, { loss: 'cross-entropy' as const, weight: 0.7 }];
      return { loss, input: { logits, target, shape }, options: { grad: true as const, gradScale: 1 + k } };
    });
    const sequential = calls.map((c) => computeLoss(c.loss as never, c.input, c.options));
    const concurrent = await Promise.all(calls.map((c) => computeLossAsync(c.loss as never, c.input, c.options)));
    for (let k = 0; k < 32; ++k) {
      expect(concurrent[k].value).toBe(sequential[k].value);
      expect(bytes(concurrent[k].grad).equals(bytes(sequential[k].grad))).toBe(true);
    }
    expect(new Set(sequential.map((r) => r.value)).size).toBe(32);
  });
});
