// computeLossAsync: same results as computeLoss, AbortSignal semantics, concurrency, and inputs
// copied at the start (the caller may reuse them at once).
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, type LossSpec } from '../src/index';
import { labels, rng, uniform } from './helpers/numeric';

const shape = [2, 3, 6, 5] as const;

function makeInput(seed: number): { logits: Float32Array; target: Uint8Array } {
  const random = rng(seed);
  return {
    logits: Float32Array.from(uniform(random, 180, -3, 3)),
    target: Uint8Array.from(labels(random, 60, 3)),
  };
}

const specs: [LossSpec, Record<string, unknown>][] = [
  ['cross-entropy', { classWeights: [1, 2, 0.5], labelSmoothing: 0.1 }],
  ['dice', { perImage: true, squared: true }],
  ['dice', { preset: 'smp', ignoreIndex: 2 }],
  [[{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }], { gradScale: 3 }],
];

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error & { code?: string },
  );
}

describe('computeLossAsync', () => {
  it.each(specs)('equals computeLoss: %j %j', async (loss, options) => {
    const input = { ...makeInput(1), shape };
    const sync = computeLoss(loss as never, input, { ...options, grad: true });
    const result = await computeLossAsync(loss as never, input, { ...options, grad: true });
    expect(result.value).toBe(sync.value);
    expect(result.grad).toEqual(sync.grad);
    const valueOnly = await computeLossAsync(loss as never, input, options);
    expect(valueOnly).toEqual({ value: sync.value });
  });

  it('rejects with an AbortError when the signal is already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('user stop');
    controller.abort(reason);
    const error = await rejection(computeLossAsync('dice', { ...makeInput(2), shape }, { signal: controller.signal }));
    expect(error.name).toBe('AbortError');
    expect(error.code).toBe('ABORT_ERR');
    expect(error.message).toBe('The operation was aborted');
    expect(error.cause).toBe(reason);
  });

  it('validation errors come before the abort check', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(computeLossAsync('dice', { ...makeInput(2), shape }, { smooth: -1, signal: controller.signal }));
    expect(error.name).toBe('RangeError');
  });

  it('settles with the result when aborted after the start', async () => {
    const controller = new AbortController();
    const input = { ...makeInput(3), shape };
    const promise = computeLossAsync('dice', input, { signal: controller.signal, grad: true });
    controller.abort();
    const result = await promise;
    expect(result.value).toBe(computeLoss('dice', input).value);
  });

  it('a signal that is never aborted changes nothing', async () => {
    const input = { ...makeInput(4), shape };
    const result = await computeLossAsync('cross-entropy', input, { signal: new AbortController().signal });
    expect(result.value).toBe(computeLoss('cross-entropy', input).value);
  });

  it('runs many concurrent calls correctly', async () => {
    const inputs = Array.from({ length: 48 }, (_, i) => ({ ...makeInput(100 + i), shape }));
    const [loss, options] = specs[3];
    const expected = inputs.map((input) => computeLoss(loss as never, input, { ...options, grad: true }));
    const results = await Promise.all(inputs.map((input) => computeLossAsync(loss as never, input, { ...options, grad: true })));
    results.forEach((r, i) => {
      expect(r.value).toBe(expected[i].value);
      expect(r.grad).toEqual(expected[i].grad);
    });
  });

  it('copies the inputs when it starts: overwriting them at once does not change the result', async () => {
    const input = { ...makeInput(5), shape };
    const expected = computeLoss('dice', input, { grad: true });
    const promise = computeLossAsync('dice', input, { grad: true });
    input.logits.fill(Number.NaN);
    input.target.fill(200);
    const result = await promise;
    expect(result.value).toBe(expected.value);
    expect(result.grad).toEqual(expected.grad);
  });

  it('survives the inputs being transferred (detached) right after the call', async () => {
    const input = { ...makeInput(6), shape };
    const expected = computeLoss('cross-entropy', input).value;
    const promise = computeLossAsync('cross-entropy', input);
    structuredClone(input.logits.buffer, { transfer: [input.logits.buffer as ArrayBuffer] });
    structuredClone(input.target.buffer, { transfer: [input.target.buffer as ArrayBuffer] });
    expect(input.logits.length).toBe(0);
    expect((await promise).value).toBe(expected);
  });
});
