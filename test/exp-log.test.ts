// exp-log beyond the parity fixtures (SegLossOdyssey ExpLog_loss; the spec formula): γ = 1 with
// w_ce = 0 is the mean over classes of −ln Dice_c (the dice loss's logLoss); with w_dice = 0 and
// γ = 1 the cross-entropy part is the frequency-weighted CE (w_l = √(V/f_l)), i.e. cross-entropy with
// those class weights times their mean; the odyssey preset puts the exponent after the Dice mean; a
// perfect prediction gives ≈ 0 with a finite gradient; gradient descent reaches hard Dice ≥ 0.99.
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

describe('exp-log', () => {
  it('γ = 1, w_ce = 0 is mean_c −ln Dice_c (dice with logLoss), value and gradient', () => {
    const { logits, target } = input(1);
    const e = computeLoss('exp-log', { logits, target, shape }, { gamma: 1, wDice: 1, wCe: 0, perImage: true, grad: true });
    const d = computeLoss('dice', { logits, target, shape }, { logLoss: true, smooth: 1, perImage: true, grad: true });
    expectClose(e.value, d.value, 1e-13, 0);
    expectArrayClose(e.grad, d.grad, 1e-11, 1e-3);
  });

  it('γ = 1, w_dice = 0 is cross-entropy weighted by w_l = √(V/f_l), times the mean weight', () => {
    const { logits, target } = input(2);
    const f = [0, 1, 2].map((c) => target.filter((t) => t === c).length);
    const w = f.map((fc) => Math.sqrt(target.length / fc));
    const meanWeight = f.reduce((s, fc, c) => s + fc * w[c], 0) / target.length;
    const e = computeLoss('exp-log', { logits, target, shape }, { gamma: 1, wDice: 0, wCe: 1, grad: true });
    const ce = computeLoss('cross-entropy', { logits, target, shape }, { classWeights: w, grad: true });
    expectClose(e.value, ce.value * meanWeight, 1e-12, 0);
    expectArrayClose(e.grad, ce.grad.map((g) => g * meanWeight), 1e-10, 1e-3);
  });

  it('preset odyssey: w_dice·(−ln mean Dice)^γ + w_ce·CE', () => {
    const { logits, target } = input(3);
    const meanDice = 1 - computeLoss('dice', { logits, target, shape }, { perImage: true, smooth: 1 }).value;
    const ce = computeLoss('cross-entropy', { logits, target, shape }).value;
    const r = computeLoss('exp-log', { logits, target, shape }, { preset: 'odyssey', gamma: 0.4 }).value;
    expectClose(r, 0.8 * (-Math.log(meanDice)) ** 0.4 + 0.2 * ce, 1e-13, 0);
  });

  it('a perfect prediction gives ≈ 0 and a finite gradient', () => {
    const { target } = input(4);
    const perfect = new Float64Array(B * C * N);
    for (let b = 0; b < B; ++b) for (let i = 0; i < N; ++i) perfect[(b * C + target[b * N + i]) * N + i] = 40;
    const r = computeLoss('exp-log', { logits: perfect, target, shape }, { smooth: 1e-9, grad: true });
    expect(r.value).toBeLessThan(1e-3);
    expect(allFinite(r.grad)).toBe(true);
  });

  it('computeLossAsync gives the sync result (float32)', async () => {
    const { logits, target } = input(5);
    const logits32 = Float32Array.from(logits);
    const sync = computeLoss('exp-log', { logits: logits32, target, shape }, { preset: 'odyssey', grad: true });
    const viaAsync = await computeLossAsync('exp-log', { logits: logits32, target, shape }, { preset: 'odyssey', grad: true });
    expect(viaAsync.value).toBe(sync.value);
    expect(Array.from(viaAsync.grad)).toEqual(Array.from(sync.grad));
  });

  it('gradient descent on the logits reaches hard Dice ≥ 0.99', () => {
    const { logits, target } = input(6);
    for (let step = 0; step < 300; ++step) {
      const { grad } = computeLoss('exp-log', { logits, target, shape }, { grad: true });
      for (let i = 0; i < logits.length; ++i) logits[i] -= 50 * grad[i];
    }
    expect(hardDice(logits, target, B, C, N)).toBeGreaterThanOrEqual(0.99);
  });
});
