// unified-focal beyond the parity fixtures (MONAI AsymmetricUnifiedFocalLoss; the spec formula):
// λ = 1 leaves the asymmetric focal loss, which with δ = 1 is the foreground pixels' cross-entropy
// share; λ = 0 and γ = 0 leave the per-image mean of 1 − TI (the Tversky loss with α = 1 − δ on
// false positives, β = δ on false negatives, per image, smooth 1e-7, no clipping at moderate logits);
// a perfect prediction gives ≈ 0; gradient descent reaches hard Dice ≥ 0.99.
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

describe('unified-focal', () => {
  it('λ = 1, δ = 1: the cross-entropy of the foreground pixels over all valid pixels', () => {
    const { logits, target } = input(1);
    const background = target.map((t) => (t === 0 ? 255 : t));
    const r = computeLoss('unified-focal', { logits, target, shape }, { lambda: 1, delta: 1, grad: true });
    const ce = computeLoss('cross-entropy', { logits, target: background, shape }, { ignoreIndex: 255, grad: true });
    const share = background.filter((t) => t !== 255).length / target.length;
    expectClose(r.value, ce.value * share, 1e-12, 0);
    expectArrayClose(r.grad, ce.grad.map((g) => g * share), 1e-10, 1e-3);
  });

  it('λ = 0, γ = 0: the per-image Tversky loss (α = 1 − δ, β = δ)', () => {
    const { logits, target } = input(2);
    for (const delta of [0.6, 0.9]) {
      const r = computeLoss('unified-focal', { logits, target, shape }, { lambda: 0, gamma: 0, delta, grad: true });
      const t = computeLoss('tversky', { logits, target, shape }, { alpha: 1 - delta, beta: delta, perImage: true, smooth: 1e-7, grad: true });
      expectClose(r.value, t.value, 1e-12, 0);
      expectArrayClose(r.grad, t.grad, 1e-9, 1e-3);
    }
  });

  it('a perfect prediction gives ≈ 0 with a finite gradient; preset monai is δ 0.7', () => {
    const { logits, target } = input(3);
    const perfect = new Float64Array(B * C * N);
    for (let b = 0; b < B; ++b) for (let i = 0; i < N; ++i) perfect[(b * C + target[b * N + i]) * N + i] = 40;
    const r = computeLoss('unified-focal', { logits: perfect, target, shape }, { grad: true });
    // The clip leaves 1 − TI ≈ 1e-7·N/TP per foreground class, raised to 1 − γ = ½: ≈ 1e-4.
    expect(r.value).toBeLessThan(1e-3);
    expect(r.value).toBeLessThan(computeLoss('unified-focal', { logits, target, shape }).value / 100);
    expect(allFinite(r.grad)).toBe(true);
    expect(computeLoss('unified-focal', { logits, target, shape }, { preset: 'monai' }).value).toBe(
      computeLoss('unified-focal', { logits, target, shape }, { delta: 0.7 }).value,
    );
  });

  it('computeLossAsync gives the sync result (float32)', async () => {
    const { logits, target } = input(4);
    const logits32 = Float32Array.from(logits);
    const sync = computeLoss('unified-focal', { logits: logits32, target, shape }, { grad: true });
    const viaAsync = await computeLossAsync('unified-focal', { logits: logits32, target, shape }, { grad: true });
    expect(viaAsync.value).toBe(sync.value);
    expect(Array.from(viaAsync.grad)).toEqual(Array.from(sync.grad));
  });

  it('gradient descent on the logits reaches hard Dice ≥ 0.99', () => {
    const { logits, target } = input(5);
    for (let step = 0; step < 300; ++step) {
      const { grad } = computeLoss('unified-focal', { logits, target, shape }, { grad: true });
      for (let i = 0; i < logits.length; ++i) logits[i] -= 100 * grad[i];
    }
    expect(hardDice(logits, target, B, C, N)).toBeGreaterThanOrEqual(0.99);
  });
});
