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

  // Batches of at least 64 tiles of 128 pixels with k ≤ 30 take the one-pass path (losses.cpp,
  // runTopkOnePass: a sampled threshold, one tile pass, the exact selection among the pixels above
  // it, then the band below τ zeroed and the ties rewritten). The objective [topk, dice × 0] takes
  // the two-pass path (Statistics pass, selection, Gradient pass): both must give the same value
  // and gradient, ties, ignored pixels, the nnunet base, float32, upstream scales and clustered hard
  // pixels (which can send the one-pass path back to the two-pass one) included.
  describe('one pass (large batches) equals the two-pass path', () => {
    const big = [2, 4, 128, 96] as const;  // 192 tiles: two workers
    const n = big[2] * big[3];
    // The pixels the threshold is estimated from: 64 runs of 32, evenly spread over the batch
    // (runTopkOnePass's sampleThreshold).
    const sampled = new Set<number>();
    for (let k = 0; k < 64; ++k) {
      const at = Math.floor(((2 * k + 1) * big[0] * n) / 128);
      for (let j = at; j < Math.min(at + 32, (Math.floor(at / n) + 1) * n); ++j) sampled.add(j);
    }
    type Layout = 'uniform' | 'clustered' | 'sampled-hard' | 'sampled-easy';
    function bigInput(seed: number, options: { quantize?: boolean; layout?: Layout; ignoreEvery?: number }) {
      const random = rng(seed);
      const logits = Float64Array.from(uniform(random, big[0] * big[1] * n, -2, 2), (x) => (options.quantize ? Math.round(x * 2) / 2 : x));
      const target = Uint8Array.from(labels(random, big[0] * n, big[1]));
      const layout = options.layout ?? 'uniform';
      // easy pixels: +6 on their class. clustered: all but the last quarter of image 1;
      // sampled-hard / sampled-easy: the pixels outside / inside the sample (the sample then
      // places the threshold too high / too low, and the one-pass path gives way to the two-pass one)
      const easy = (b: number, i: number): boolean => {
        const inSample = sampled.has(b * n + i);
        if (layout === 'clustered') return !(b === 1 && i >= (3 * n) / 4);
        if (layout === 'sampled-hard') return !inSample;
        if (layout === 'sampled-easy') return inSample;
        return false;
      };
      for (let b = 0; b < big[0]; ++b) {
        for (let i = 0; i < n; ++i) if (easy(b, i)) logits[(b * big[1] + target[b * n + i]) * n + i] += 6;
      }
      if (options.ignoreEvery) for (let j = 0; j < target.length; j += options.ignoreEvery) target[j] = 255;
      return { logits, target };
    }
    const cases = [
      { name: 'float64, ignored pixels, k 10', seed: 21, data: { ignoreEvery: 7 }, options: { k: 10, ignoreIndex: 255 } },
      { name: 'quantised logits (ties at τ), k 10', seed: 22, data: { quantize: true }, options: { k: 10 } },
      { name: 'quantised logits (ties at τ), k 25, ignored pixels', seed: 23, data: { quantize: true, ignoreEvery: 5 }, options: { k: 25, ignoreIndex: 255 } },
      { name: 'nnunet base with ignored pixels, k 10', seed: 24, data: { ignoreEvery: 3 }, options: { preset: 'nnunet' as const, k: 10, ignoreIndex: 255 } },
      { name: 'clustered hard pixels, k 5', seed: 25, data: { layout: 'clustered' as const }, options: { k: 5 } },
      { name: 'hard pixels only in the sample (too few above the threshold)', seed: 27, data: { layout: 'sampled-hard' as const }, options: { k: 10 } },
      { name: 'hard pixels only outside the sample (too many above it)', seed: 28, data: { layout: 'sampled-easy' as const }, options: { k: 10 } },
    ];
    it.each(cases)('$name', ({ seed, data, options }) => {
      const { logits, target } = bigInput(seed, data);
      for (const values of [logits, Float32Array.from(logits)]) {
        const onePass = computeLoss('topk', { logits: values, target, shape: big }, { ...options, grad: true });
        const { preset, k, ...common } = options as { preset?: 'nnunet'; k: number; ignoreIndex?: number };
        const twoPass = computeLoss(
          [{ loss: 'topk', weight: 1, options: { k, ...(preset ? { preset } : {}) } }, { loss: 'dice', weight: 0 }],
          { logits: values, target, shape: big },
          { ...common, grad: true },
        );
        const float64 = values instanceof Float64Array;
        expectClose(onePass.value, twoPass.value, float64 ? 1e-13 : 1e-6, 0);
        expectArrayClose(onePass.grad, twoPass.grad, float64 ? 1e-13 : 1e-6, float64 ? 1e-17 : 1e-9);
      }
    });

    it('an upstream scale (gradScale) and the async call', async () => {
      const { logits, target } = bigInput(26, { quantize: true });
      const sync = computeLoss('topk', { logits, target, shape: big }, { k: 10, grad: true, gradScale: -3 });
      const base = computeLoss('topk', { logits, target, shape: big }, { k: 10, grad: true });
      expectArrayClose(sync.grad, Float64Array.from(base.grad, (g) => -3 * g), 1e-14, 1e-17);
      const viaAsync = await computeLossAsync('topk', { logits, target, shape: big }, { k: 10, grad: true });
      expect(viaAsync.value).toBe(base.value);
      expect(Array.from(viaAsync.grad)).toEqual(Array.from(base.grad));
    });
  });
});
