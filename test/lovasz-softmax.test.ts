// lovasz-softmax beyond the parity fixtures (Berman's lovasz_softmax): on hard (one-hot)
// predictions the Lovász extension is the Jaccard loss itself, mean_c (1 − IoU_c); a perfect
// prediction gives 0; 'present' skips absent classes while 'all' charges them their largest error;
// perImage is the mean of the per-image values; gradient descent on the logits reaches hard Dice
// ≥ 0.99; the async call gives the sync result.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync } from '../src';
import { expectClose, labels, rng, uniform } from './helpers/numeric';

const shape = [2, 3, 6, 7] as const;
const [B, C, H, W] = shape;
const N = H * W;

function input(seed: number): { logits: Float64Array; target: Uint8Array } {
  const random = rng(seed);
  return {
    logits: Float64Array.from(uniform(random, B * C * N, -2, 2)),
    target: Uint8Array.from(labels(random, B * N, C)),
  };
}

/** One-hot probabilities of `prediction` [B, N] (the 'none' activation's input). */
function oneHot(prediction: Uint8Array): Float64Array {
  const p = new Float64Array(B * C * N);
  for (let b = 0; b < B; ++b) for (let i = 0; i < N; ++i) p[(b * C + prediction[b * N + i]) * N + i] = 1;
  return p;
}

/** mean over the classes present in the target of 1 − |pred ∩ target| / |pred ∪ target|. */
function jaccardLoss(prediction: Uint8Array, target: Uint8Array): number {
  let sum = 0, count = 0;
  for (let c = 0; c < C; ++c) {
    let inter = 0, union = 0, present = 0;
    for (let j = 0; j < target.length; ++j) {
      const t = target[j] === c, p = prediction[j] === c;
      inter += t && p ? 1 : 0;
      union += t || p ? 1 : 0;
      present += t ? 1 : 0;
    }
    if (present === 0) continue;
    sum += 1 - inter / union;
    ++count;
  }
  return sum / count;
}

function argmax(logits: Float64Array): Uint8Array {
  const out = new Uint8Array(B * N);
  for (let b = 0; b < B; ++b) {
    for (let i = 0; i < N; ++i) {
      let best = 0;
      for (let c = 1; c < C; ++c) if (logits[(b * C + c) * N + i] > logits[(b * C + best) * N + i]) best = c;
      out[b * N + i] = best;
    }
  }
  return out;
}

describe('lovasz-softmax', () => {
  it('on one-hot predictions equals the Jaccard loss mean_c (1 − IoU_c)', () => {
    const random = rng(1);
    const target = Uint8Array.from(labels(random, B * N, C));
    for (let trial = 0; trial < 5; ++trial) {
      const prediction = target.map((t) => (random() < 0.3 ? Math.floor(C * random()) : t));
      const r = computeLoss('lovasz-softmax', { logits: oneHot(prediction), target, shape }, { activation: 'none' });
      expectClose(r.value, jaccardLoss(prediction, target), 1e-14, 1e-15);
    }
  });

  it('a perfect prediction gives 0', () => {
    const { target } = input(2);
    expect(computeLoss('lovasz-softmax', { logits: oneHot(target), target, shape }, { activation: 'none', classes: 'all' }).value).toBe(0);
  });

  it("'present' skips an absent class, 'all' charges it its largest error", () => {
    const { logits, target } = input(3);
    const absent = target.map((t) => (t === 2 ? 0 : t));
    const present = computeLoss('lovasz-softmax', { logits, target: absent, shape }).value;
    const all = computeLoss('lovasz-softmax', { logits, target: absent, shape }, { classes: 'all' }).value;
    const listed = computeLoss('lovasz-softmax', { logits, target: absent, shape }, { classes: [0, 1] }).value;
    expectClose(present, listed, 1e-14, 0);
    // The absent class's term: the largest p_2 (its Jaccard jumps from 0 to 1 at the first error).
    let largest = 0;
    for (let b = 0; b < B; ++b) {
      for (let i = 0; i < N; ++i) {
        const z = [0, 1, 2].map((c) => logits[(b * C + c) * N + i]);
        const m = Math.max(...z);
        const s = z.reduce((acc, v) => acc + Math.exp(v - m), 0);
        largest = Math.max(largest, Math.exp(z[2] - m) / s);
      }
    }
    expectClose(all, (2 * present + largest) / 3, 1e-12, 0);
  });

  it('perImage is the mean of the per-image values', () => {
    const { logits, target } = input(4);
    const perImage = computeLoss('lovasz-softmax', { logits, target, shape }, { perImage: true }).value;
    const single = [0, 1].map((b) => computeLoss('lovasz-softmax', {
      logits: logits.slice(b * C * N, (b + 1) * C * N), target: target.slice(b * N, (b + 1) * N), shape: [1, C, H, W],
    }).value);
    expectClose(perImage, (single[0] + single[1]) / 2, 1e-14, 0);
  });

  it('computeLossAsync gives the sync result (float32)', async () => {
    const { logits, target } = input(5);
    const logits32 = Float32Array.from(logits);
    const sync = computeLoss('lovasz-softmax', { logits: logits32, target, shape }, { perImage: true, grad: true });
    const viaAsync = await computeLossAsync('lovasz-softmax', { logits: logits32, target, shape }, { perImage: true, grad: true });
    expect(viaAsync.value).toBe(sync.value);
    expect(Array.from(viaAsync.grad)).toEqual(Array.from(sync.grad));
  });

  it('gradient descent on the logits reaches hard Dice ≥ 0.99', () => {
    const { logits, target } = input(6);
    for (let step = 0; step < 300; ++step) {
      const { grad } = computeLoss('lovasz-softmax', { logits, target, shape }, { grad: true });
      for (let i = 0; i < logits.length; ++i) logits[i] -= 50 * grad[i];
    }
    const prediction = argmax(logits);
    expect(prediction.filter((p, j) => p === target[j]).length / (B * N)).toBeGreaterThanOrEqual(0.99);
  });
});
