// `gradOut`: the gradient written into a caller-owned array (no allocation per call), equal to
// the allocating path, sync and async, and every misuse a clear error before native code runs.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync } from '../src';
import { checkLossCall } from '../src/compute';
import { coreAddon } from '../src/native/core';

const shape = [2, 3, 5, 7] as const;
const logits = Float32Array.from({ length: 2 * 3 * 5 * 7 }, (_, i) => Math.sin(i * 1.3) * 4);
const target = Uint8Array.from({ length: 2 * 5 * 7 }, (_, i) => (i * 7) % 3);
const objective = [
  { loss: 'dice' as const, weight: 0.5 },
  { loss: 'cross-entropy' as const, weight: 0.5 },
];

const resolvedDice = () => checkLossCall('dice', { logits, target, shape }, {}, []).request;

describe('gradOut', () => {
  it('receives the same gradient as a new array, and is the result', async () => {
    const fresh = computeLoss(objective, { logits, target, shape }, { grad: true, ignoreIndex: 2 });
    const out = new Float32Array(logits.length).fill(Number.NaN);
    const reused = computeLoss(objective, { logits, target, shape }, { grad: true, ignoreIndex: 2, gradOut: out });
    expect(reused.grad).toBe(out);
    expect(reused.value).toBe(fresh.value);
    expect(Array.from(out)).toEqual(Array.from(fresh.grad));
    const again = new Float32Array(logits.length);
    const viaAsync = await computeLossAsync('dice', { logits, target, shape }, { grad: true, gradOut: again });
    expect(viaAsync.grad).toBe(again);
    expect(Array.from(again)).toEqual(Array.from(computeLoss('dice', { logits, target, shape }, { grad: true }).grad));
  });

  it('accepts a non-overlapping view into the logits buffer', () => {
    const buffer = new Float32Array(2 * logits.length);
    buffer.set(logits);
    const z = buffer.subarray(0, logits.length);
    const g = buffer.subarray(logits.length);
    const r = computeLoss('cross-entropy', { logits: z, target, shape }, { grad: true, gradOut: g });
    expect(Array.from(r.grad)).toEqual(Array.from(computeLoss('cross-entropy', { logits, target, shape }, { grad: true }).grad));
  });

  // The target as a view into a buffer that also holds a would-be gradOut.
  const targetBuffer = new Uint8Array(new ArrayBuffer(4 * logits.length));
  targetBuffer.set(target);
  const input = { logits, target: targetBuffer.subarray(0, target.length), shape };
  it.each([
    [{ grad: true, gradOut: new Float64Array(logits.length) }, 'TypeError', "Expected a Float32Array (the logits' type) for gradOut but received Float64Array of length 210"],
    [{ grad: true, gradOut: [1, 2] }, 'TypeError', "Expected a Float32Array (the logits' type) for gradOut but received [1, 2]"],
    [{ grad: true, gradOut: new Float32Array(3) }, 'RangeError', "Expected a Float32Array of length 210 (the logits' length) for gradOut but received length 3"],
    [{ grad: true, gradOut: logits }, 'RangeError', 'Expected an array that does not overlap the logits for gradOut but received a view overlapping logits'],
    // Regression (issue 11): a gradOut over the target's bytes overwrote labels the engine still read.
    [{ grad: true, gradOut: new Float32Array(targetBuffer.buffer, 0, logits.length) }, 'RangeError', 'Expected an array that does not overlap the target for gradOut but received a view overlapping target'],
    [{ gradOut: new Float32Array(logits.length) }, 'RangeError', 'Expected grad: true with gradOut (gradOut receives the gradient) for grad but received false'],
  ])('%j → %s', (options, name, message) => {
    const labelsBefore = Array.from(input.target);
    let error: (Error & { code?: string }) | undefined;
    try {
      computeLoss('dice', input, options as never);
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error?.name).toBe(name);
    expect(error?.message).toBe(message);
    expect(error?.code).toBe('SEGLOSS_INVALID_ARGUMENT');
    expect(Array.from(input.target)).toEqual(labelsBefore);
  });

  it('the native core also refuses a grad array overlapping the target (raw binding)', () => {
    const call = () =>
      coreAddon().computeLoss(logits, input.target, [2, 3, 35], resolvedDice(), new Float32Array(targetBuffer.buffer, 0, logits.length));
    expect(call).toThrow(expect.objectContaining({ name: 'RangeError', code: 'SEGLOSS_NATIVE', message: 'grad overlaps the logits or the target' }));
  });
});
