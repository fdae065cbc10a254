// combo beyond the parity fixtures (mlyg combo_loss; the spec formula): α = 0 is the Dice loss with
// the same region options, α = 1 with two classes is ½·cross-entropy whatever β, a perfect
// prediction gives ≈ 0, β moves weight between the false-negative and false-positive terms,
// saturated logits stay finite, and gradient descent on the logits reaches hard Dice ≥ 0.99.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync } from '../src';
import { allFinite, expectArrayClose, expectClose, labels, rng, uniform, hardDice } from './helpers/numeric';

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

describe('combo', () => {
  it('α = 0 is the dice loss with the same region options, value and gradient', () => {
    const { logits, target } = input(1);
    for (const region of [{}, { perImage: true, includeBackground: false, smooth: 0.5 }]) {
      const combo = computeLoss('combo', { logits, target, shape }, { alpha: 0, ...region, grad: true });
      const dice = computeLoss('dice', { logits, target, shape }, { ...region, grad: true });
      expectClose(combo.value, dice.value, 1e-13, 0);
      expectArrayClose(combo.grad, dice.grad, 1e-11, 1e-3);
    }
  });

  it('α = 1 with two classes is ½·cross-entropy for every β', () => {
    const two = [2, 2, 6, 7] as const;
    const random = rng(2);
    const logits = Float64Array.from(uniform(random, 2 * 2 * N, -3, 3));
    const target = Uint8Array.from(labels(random, 2 * N, 2));
    const ce = computeLoss('cross-entropy', { logits, target, shape: two }, { grad: true });
    for (const beta of [0, 0.3, 0.5, 1]) {
      const combo = computeLoss('combo', { logits, target, shape: two }, { alpha: 1, beta, grad: true });
      expectClose(combo.value, ce.value / 2, 1e-12, 0);
      expectArrayClose(combo.grad, ce.grad.map((g) => g / 2), 1e-10, 1e-3);
    }
  });

  it('a perfect prediction gives ≈ 0; β weighs false negatives against false positives', () => {
    const { target } = input(3);
    const perfect = new Float64Array(B * C * N);
    for (let b = 0; b < B; ++b) for (let i = 0; i < N; ++i) perfect[(b * C + target[b * N + i]) * N + i] = 30;
    expect(computeLoss('combo', { logits: perfect, target, shape }).value).toBeLessThan(1e-9);
    // Under-confident everywhere (a uniform prediction): the false-negative terms (−ln p_t) dominate,
    // so a larger β gives a larger WCE.
    const uniformLogits = new Float64Array(B * C * N);
    const low = computeLoss('combo', { logits: uniformLogits, target, shape }, { alpha: 1, beta: 0.2 }).value;
    const high = computeLoss('combo', { logits: uniformLogits, target, shape }, { alpha: 1, beta: 0.8 }).value;
    expectClose(low, (0.2 * Math.log(3) + 0.8 * 2 * Math.log(1.5)) / 3, 1e-14, 0);
    expectClose(high, (0.8 * Math.log(3) + 0.2 * 2 * Math.log(1.5)) / 3, 1e-14, 0);
  });

  it('confidently wrong logits of ±1e4 give the exact finite WCE and a bounded gradient', () => {
    const { target } = input(4);
    const wrong = new Float64Array(B * C * N);
    for (let b = 0; b < B; ++b) for (let i = 0; i < N; ++i) wrong[(b * C + ((target[b * N + i] + 1) % C)) * N + i] = 1e4;
    const r = computeLoss('combo', { logits: wrong, target, shape }, { alpha: 1, beta: 0.5, grad: true });
    // −β ln p_t = 1e4·β; the wrong class's −(1 − β) ln(1 − p_c) = −(1 − β) ln(2·e^−1e4) = (1 − β)(1e4 − ln 2);
    // the third class ≈ 0.
    expectClose(r.value, (0.5 * 1e4 + 0.5 * (1e4 - Math.log(2))) / C, 1e-12, 0);
    expect(allFinite(r.grad)).toBe(true);
    expect(Math.max(...r.grad.map(Math.abs))).toBeLessThanOrEqual(1 / (B * N));
  });

  it('computeLossAsync gives the sync result (float32)', async () => {
    const { logits, target } = input(5);
    const logits32 = Float32Array.from(logits);
    const sync = computeLoss('combo', { logits: logits32, target, shape }, { beta: 0.7, grad: true });
    const viaAsync = await computeLossAsync('combo', { logits: logits32, target, shape }, { beta: 0.7, grad: true });
    expect(viaAsync.value).toBe(sync.value);
    expect(Array.from(viaAsync.grad)).toEqual(Array.from(sync.grad));
  });

  it('gradient descent on the logits reaches hard Dice ≥ 0.99', () => {
    const { logits, target } = input(6);
    for (let step = 0; step < 300; ++step) {
      const { grad } = computeLoss('combo', { logits, target, shape }, { grad: true });
      for (let i = 0; i < logits.length; ++i) logits[i] -= 100 * grad[i];
    }
    expect(hardDice(logits, target, B, C, N)).toBeGreaterThanOrEqual(0.99);
  });
});
