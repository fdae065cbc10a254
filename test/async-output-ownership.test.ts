// An async call's output array belongs to the caller until the promise settles; the worker fills
// its own copy and writes the caller's array on completion (native/addon/staged_output.h). So an
// output transferred mid-call rejects the promise instead of being written after it was freed
// (issue 11 regression: a segfault), and an untouched output holds exactly the sync result.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, distanceTransform, distanceTransformAsync, metrics } from '../src';

const root = path.resolve(__dirname, '..');

describe('async outputs', () => {
  it('an output transferred while the call runs rejects the promise; the process survives', () => {
    const script = path.join(__dirname, 'helpers', 'transfer-mid-call.cjs');
    const child = spawnSync(process.execPath, ['--expose-gc', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(child.signal, child.stderr).toBeNull();
    expect(child.status, child.stderr).toBe(0);
    const { outcomes } = JSON.parse(child.stdout.trim().split('\n').pop()!) as { outcomes: string[] };
    expect(outcomes).toEqual([
      ...Array(3).fill('rejected: SEGLOSS_NATIVE out was detached or resized while the call ran'),
      ...Array(3).fill('rejected: SEGLOSS_NATIVE grad was detached or resized while the call ran'),
    ]);
  });

  it('an untouched out / gradOut / SharedArrayBuffer output holds the sync result bit for bit', async () => {
    const mask = Uint8Array.from({ length: 37 * 41 }, (_, i) => (i % 7 === 0 ? 0 : 1));
    const expected = distanceTransform(mask, [37, 41], { spacing: [0.5, 2] });
    const out = new Float64Array(new SharedArrayBuffer(8 * mask.length));
    const result = await distanceTransformAsync(mask, [37, 41], { spacing: [0.5, 2], out });
    expect(result).toBe(out);
    expect(Buffer.from(out.buffer).equals(Buffer.from(expected.buffer))).toBe(true);

    const shape = [2, 3, 9, 11] as const;
    const logits = Float64Array.from({ length: 2 * 3 * 99 }, (_, i) => Math.cos(i * 0.7) * 3);
    const target = Uint8Array.from({ length: 2 * 99 }, (_, i) => (i * 5) % 3);
    const sync = computeLoss('tversky', { logits, target, shape }, { grad: true });
    const gradOut = new Float64Array(new SharedArrayBuffer(8 * logits.length));
    const viaAsync = await computeLossAsync('tversky', { logits, target, shape }, { grad: true, gradOut: gradOut as unknown as typeof logits });
    expect(viaAsync.value).toBe(sync.value);
    expect(viaAsync.grad).toBe(gradOut);
    expect(Array.from(gradOut)).toEqual(Array.from(sync.grad));

    const labels = Uint8Array.from({ length: 4 * 6 * 6 }, (_, i) => (i * 3) % 4);
    const guess = Uint8Array.from(labels, (v, i) => (i % 5 === 0 ? (v + 1) % 4 : v));
    const volume = await metrics.evaluateVolumeAsync(guess, labels, [4, 6, 6], 4);
    expect(volume).toEqual(metrics.evaluateVolume(guess, labels, [4, 6, 6], 4));
    expect(volume.meanDice).toBeGreaterThan(0.5);
    expect(volume.meanDice).toBeLessThan(1);
  });
});
