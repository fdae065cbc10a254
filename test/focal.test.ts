// focal beyond the parity fixtures: γ = 0 is cross-entropy (value and gradient, with α = class
// weights' numerators), a better prediction gives a lower loss, the loss focuses (well-classified
// pixels weigh less than under CE), and gradient descent on the logits reaches hard Dice ≥ 0.99.
import { describe, expect, it } from 'vitest';

import { computeLoss } from '../src';
import { rng } from './helpers/numeric';

const shape = [2, 3, 6, 7] as const;
function input(seed: number): { logits: Float64Array; target: Uint8Array } {
  const random = rng(seed);
  const logits = Float64Array.from({ length: 2 * 3 * 6 * 7 }, () => 4 * random() - 2);
  const target = Uint8Array.from({ length: 2 * 6 * 7 }, () => Math.floor(3 * random()));
  return { logits, target };
}

function hardDice(logits: Float64Array, target: Uint8Array): number {
  const [B, C, H, W] = shape;
  const n = H * W;
  let inter = 0;
  for (let b = 0; b < B; ++b) {
    for (let i = 0; i < n; ++i) {
      let best = 0;
      for (let c = 1; c < C; ++c) if (logits[(b * C + c) * n + i] > logits[(b * C + best) * n + i]) best = c;
      inter += best === target[b * n + i] ? 1 : 0;
    }
  }
  return inter / (B * n);
}

describe('focal', () => {
  it('γ = 0 is cross-entropy, value and gradient', () => {
    const { logits, target } = input(1);
    const focal = computeLoss('focal', { logits, target, shape }, { gamma: 0, grad: true, ignoreIndex: 2 });
    const ce = computeLoss('cross-entropy', { logits, target, shape }, { grad: true, ignoreIndex: 2 });
    expect(focal.value).toBeCloseTo(ce.value, 14);
    focal.grad.forEach((g, i) => expect(g).toBeCloseTo(ce.grad[i], 14));
  });

  it('weighs well-classified pixels less than cross-entropy does (γ > 0 lowers the loss)', () => {
    const { logits, target } = input(2);
    const values = [0, 0.5, 1, 2, 5].map((gamma) => computeLoss('focal', { logits, target, shape }, { gamma }).value);
    for (let k = 1; k < values.length; ++k) expect(values[k]).toBeLessThan(values[k - 1]);
    expect(values.at(-1)).toBeGreaterThan(0);
  });

  it('a better prediction gives a lower loss', () => {
    const { logits, target } = input(3);
    const better = Float64Array.from(logits);
    const [B, C, H, W] = shape;
    const n = H * W;
    for (let b = 0; b < B; ++b) for (let i = 0; i < n; ++i) better[(b * C + target[b * n + i]) * n + i] += 1;
    for (const options of [{}, { gamma: 0.5 }, { preset: 'monai' as const }, { alpha: [0.2, 1, 3] }]) {
      const before = computeLoss('focal', { logits, target, shape }, options).value;
      const after = computeLoss('focal', { logits: better, target, shape }, options).value;
      expect(after).toBeLessThan(before);
    }
  });

  it('gradient descent on the logits reaches hard Dice ≥ 0.99', () => {
    const { logits, target } = input(4);
    for (let step = 0; step < 300; ++step) {
      const { grad } = computeLoss('focal', { logits, target, shape }, { grad: true });
      for (let i = 0; i < logits.length; ++i) logits[i] -= 200 * grad[i];
    }
    expect(hardDice(logits, target)).toBeGreaterThanOrEqual(0.99);
  });
});
