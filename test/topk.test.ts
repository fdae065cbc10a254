// topk beyond the parity fixtures (nnU-Net TopKLoss): its value is the mean of the n largest
// per-pixel cross-entropies (checked against a sort of the cross-entropy's own per-pixel values),
// only those n pixels get a gradient, k = 100 is cross-entropy, ties at the threshold share the
// remaining slots, the nnunet preset counts ignored pixels in the base, and gradient descent on the
// logits reaches hard Dice ≥ 0.99.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync } from '../src';
import { expectArrayClose, expectClose, labels, rng, uniform, hardDice } from './helpers/numeric';

const shape = [2, 3, 6, 7] as const;
const [B, C, H, W] = shape;
const N = H * W;

function input(seed: number, ignoreEvery = 0): { logits: Float64Array; target: Uint8Array } {
  const random = rng(seed);
  const logits = Float64Array.from(uniform(random, B * C * N, -2, 2));
  const target = Uint8Array.from(labels(random, B * N, C));
  if (ignoreEvery) for (let j = 0; j < target.length; j += ignoreEvery) target[j] = 255;
  return { logits, target };
}

/** −log p_t per pixel (NaN for ignored pixels). */
function pixelCrossEntropy(logits: Float64Array, target: Uint8Array): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; ++b) {
    for (let i = 0; i < N; ++i) {
      const t = target[b * N + i];
      if (t === 255) { out.push(Number.NaN); continue; }
      const z = Array.from({ length: C }, (_, c) => logits[(b * C + c) * N + i]);
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
      out.push(lse - z[t]);
    }
  }
  return out;
}


describe('topk', () => {
  it('is the mean of the ⌊k·V/100⌋ largest per-pixel cross-entropies; only those pixels get a gradient', () => {
    const { logits, target } = input(1, 5);
    const ce = pixelCrossEntropy(logits, target);
    const valid = ce.filter((v) => !Number.isNaN(v)).sort((a, b) => b - a);
    for (const k of [10, 25, 60]) {
      const n = Math.floor((valid.length * k) / 100);
      const r = computeLoss('topk', { logits, target, shape }, { k, ignoreIndex: 255, grad: true });
      expectClose(r.value, valid.slice(0, n).reduce((s, v) => s + v, 0) / n, 1e-12, 0);
      const threshold = valid[n - 1];
      for (let j = 0; j < B * N; ++j) {
        const b = Math.floor(j / N), i = j % N;
        const g = Array.from({ length: C }, (_, c) => r.grad[(b * C + c) * N + i]);
        const selected = !Number.isNaN(ce[j]) && ce[j] >= threshold;
        expect(g.some((x) => x !== 0)).toBe(selected);
      }
    }
  });

  it('the threaded radix select over 80 000 pixels (several chunks, two workers) gives the sort\'s value and selection, for 1 and 2 threads', () => {
    const big = [2, 3, 200, 200] as const;
    const n = big[2] * big[3];
    const random = rng(11);
    const logits = Float64Array.from(uniform(random, big[0] * big[1] * n, -3, 3));
    const target = Uint8Array.from(labels(random, big[0] * n, big[1]));
    for (let j = 0; j < target.length; j += 7) target[j] = 255;
    const ce: number[] = [];
    for (let b = 0; b < big[0]; ++b) {
      for (let i = 0; i < n; ++i) {
        const t = target[b * n + i];
        const z = [0, 1, 2].map((c) => logits[(b * big[1] + c) * n + i]);
        const m = Math.max(...z);
        ce.push(t === 255 ? Number.NaN : m + Math.log(z.reduce((sum, v) => sum + Math.exp(v - m), 0)) - z[t]);
      }
    }
    const sorted = ce.filter((v) => !Number.isNaN(v)).sort((a, b) => b - a);
    const selected = Math.floor((sorted.length * 10) / 100);
    const expected = sorted.slice(0, selected).reduce((sum, v) => sum + v, 0) / selected;
    const previous = process.env.SEGLOSS_NUM_THREADS;
    try {
      const results = ['1', '2'].map((threads) => {
        process.env.SEGLOSS_NUM_THREADS = threads;
        return computeLoss('topk', { logits, target, shape: big }, { ignoreIndex: 255, grad: true });
      });
      for (const r of results) {
        expectClose(r.value, expected, 1e-12, 0);
        let withGradient = 0;
        for (let j = 0; j < ce.length; ++j) {
          const b = Math.floor(j / n), i = j % n;
          const g = [0, 1, 2].some((c) => r.grad[(b * big[1] + c) * n + i] !== 0);
          expect(g).toBe(!Number.isNaN(ce[j]) && ce[j] >= sorted[selected - 1]);
          withGradient += g ? 1 : 0;
        }
        expect(withGradient).toBe(selected);
      }
      expectArrayClose(results[1].grad, results[0].grad, 0, 0);
    } finally {
      if (previous === undefined) delete process.env.SEGLOSS_NUM_THREADS;
      else process.env.SEGLOSS_NUM_THREADS = previous;
    }
  });

  it('k = 100 equals cross-entropy, value and gradient', () => {
    const { logits, target } = input(2, 4);
    const topk = computeLoss('topk', { logits, target, shape }, { k: 100, ignoreIndex: 255, grad: true });
    const ce = computeLoss('cross-entropy', { logits, target, shape }, { ignoreIndex: 255, grad: true });
    expectClose(topk.value, ce.value, 1e-13, 0);
    expectArrayClose(topk.grad, ce.grad, 1e-12, 1e-3);
  });

  it('preset nnunet counts ignored pixels (cross-entropy 0) in the base', () => {
    const { logits, target } = input(3, 3);
    const ce = pixelCrossEntropy(logits, target).map((v) => (Number.isNaN(v) ? 0 : v)).sort((a, b) => b - a);
    const n = Math.floor((B * N * 40) / 100);
    const r = computeLoss('topk', { logits, target, shape }, { preset: 'nnunet', k: 40, ignoreIndex: 255 });
    expectClose(r.value, ce.slice(0, n).reduce((s, v) => s + v, 0) / n, 1e-12, 0);
    // With k = 100 the base's ignored zeros lower the mean to Σ CE / (B·N).
    const all = computeLoss('topk', { logits, target, shape }, { preset: 'nnunet', k: 100, ignoreIndex: 255 }).value;
    const plain = computeLoss('cross-entropy', { logits, target, shape }, { ignoreIndex: 255 }).value;
    const validCount = target.filter((t) => t !== 255).length;
    expectClose(all, (plain * validCount) / (B * N), 1e-12, 0);
    // Without ignored pixels the preset is the default.
    const clean = input(4);
    expect(computeLoss('topk', { ...clean, shape }, { preset: 'nnunet' }).value).toBe(computeLoss('topk', { ...clean, shape }).value);
  });

  it('ties at the threshold share the remaining slots (uniform logits: every pixel ties)', () => {
    const logits = new Float64Array(B * C * N);
    const { target } = input(5);
    const r = computeLoss('topk', { logits, target, shape }, { k: 10, grad: true });
    expectClose(r.value, Math.log(C), 1e-14, 0);
    const full = computeLoss('cross-entropy', { logits, target, shape }, { grad: true });
    // Each pixel carries n / (B·N) of its cross-entropy gradient; n / (B·N) · (1 / n) = 1 / (B·N).
    expectArrayClose(r.grad, full.grad, 1e-12, 1e-3);
  });

  it('a better prediction gives a lower loss', () => {
    const { logits, target } = input(6);
    const better = Float64Array.from(logits);
    for (let b = 0; b < B; ++b) for (let i = 0; i < N; ++i) better[(b * C + target[b * N + i]) * N + i] += 1;
    for (const options of [{}, { k: 50 }, { preset: 'nnunet' as const }]) {
      const before = computeLoss('topk', { logits, target, shape }, options).value;
      const after = computeLoss('topk', { logits: better, target, shape }, options).value;
      expect(after).toBeLessThan(before);
    }
  });

  it('computeLossAsync gives the sync result, float32', async () => {
    const { logits, target } = input(7, 6);
    const logits32 = Float32Array.from(logits);
    const sync = computeLoss('topk', { logits: logits32, target, shape }, { k: 15, ignoreIndex: 255, grad: true });
    const viaAsync = await computeLossAsync('topk', { logits: logits32, target, shape }, { k: 15, ignoreIndex: 255, grad: true });
    expect(viaAsync.value).toBe(sync.value);
    expect(Array.from(viaAsync.grad)).toEqual(Array.from(sync.grad));
  });

  it('gradient descent on the logits reaches hard Dice ≥ 0.99', () => {
    const { logits, target } = input(8);
    for (let step = 0; step < 300; ++step) {
      const { grad } = computeLoss('topk', { logits, target, shape }, { k: 20, grad: true });
      for (let i = 0; i < logits.length; ++i) logits[i] -= 20 * grad[i];
    }
    expect(hardDice(logits, target, B, C, N)).toBeGreaterThanOrEqual(0.99);
  });
});
