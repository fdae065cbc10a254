// boundary-aware (spec 17): no public code exists, so it is tested by its properties — a perfect
// bin prediction decodes to the target exactly, the loss falls as bins get right — and against a
// brute-force transcription of the definition (nearest other-class pixel by exhaustive search),
// plus float64 finite differences, ignoreIndex, the per-target cache and the argument errors.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, computeLossTorch, decodeBoundaryAware, type LossShape, torchAvailable } from '../src/index';
import { thrownBy } from './helpers/errors';
import { expectArrayClose, expectClose, finiteDifferences, rng, uniform } from './helpers/numeric';

/** Blobs: a few rectangles and a disk per image, class 0 elsewhere; image 1 lacks class 2. */
function blobTarget(batch: number, height: number, width: number, classes: number, seed: number): Int32Array {
  const random = rng(seed);
  const target = new Int32Array(batch * height * width);
  for (let b = 0; b < batch; ++b) {
    const present = b === 1 ? Math.min(classes, 2) : classes;
    for (let c = 1; c < present; ++c) {
      const y0 = Math.floor(random() * height * 0.5), x0 = Math.floor(random() * width * 0.5);
      const h = 3 + Math.floor(random() * height * 0.5), w = 3 + Math.floor(random() * width * 0.5);
      for (let y = y0; y < Math.min(height, y0 + h); ++y) {
        for (let x = x0; x < Math.min(width, x0 + w); ++x) target[(b * height + y) * width + x] = c;
      }
    }
    const cy = height / 2, cx = width / 3, r = Math.min(height, width) / 4;
    for (let y = 0; y < height; ++y) {
      for (let x = 0; x < width; ++x) if ((y - cy) ** 2 + (x - cx) ** 2 <= r * r) target[(b * height + y) * width + x] = present - 1;
    }
  }
  return target;
}

/** The bins of the definition, by exhaustive search: [B, C, N], −1 outside the class. */
function referenceBins(target: Int32Array, batch: number, classes: number, height: number, width: number, bins: number, radius: number, ignore?: number): Int32Array {
  const n = height * width;
  const out = new Int32Array(batch * classes * n).fill(-1);
  for (let b = 0; b < batch; ++b) {
    for (let i = 0; i < n; ++i) {
      const c = target[b * n + i];
      if (c === ignore) continue;
      let best = Infinity;
      for (let j = 0; j < n; ++j) {
        const other = target[b * n + j];
        if (other === c || other === ignore) continue;
        best = Math.min(best, (Math.floor(i / width) - Math.floor(j / width)) ** 2 + ((i % width) - (j % width)) ** 2);
      }
      const D = Math.min(Math.ceil(Math.sqrt(best)), radius);
      out[(b * classes + c) * n + i] = Math.floor(((D - 1) * bins) / radius);
    }
  }
  return out;
}

/** The loss of the definition from reference bins (float64). */
function referenceLoss(logits: ArrayLike<number>, target: Int32Array, bins: Int32Array, batch: number, classes: number, n: number, k: number, ignore?: number): number {
  let sum = 0, valid = 0;
  for (let b = 0; b < batch; ++b) {
    for (let i = 0; i < n; ++i) {
      if (target[b * n + i] === ignore) continue;
      valid += 1;
      for (let c = 0; c < classes; ++c) {
        for (let bin = 0; bin < k; ++bin) {
          const z = logits[((b * classes + c) * k + bin) * n + i];
          const y = bins[(b * classes + c) * n + i] === bin ? 1 : 0;
          sum += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
        }
      }
    }
  }
  return valid === 0 ? 0 : sum / (valid * classes * k);
}

/** Logits whose signs are the target's binary maps, with magnitude `m`. */
function perfectLogits(bins: Int32Array, batch: number, classes: number, n: number, k: number, m: number): Float64Array {
  const logits = new Float64Array(batch * classes * k * n);
  for (let b = 0; b < batch; ++b)
    for (let c = 0; c < classes; ++c)
      for (let bin = 0; bin < k; ++bin)
        for (let i = 0; i < n; ++i) logits[((b * classes + c) * k + bin) * n + i] = bins[(b * classes + c) * n + i] === bin ? m : -m;
  return logits;
}

const B = 2, C = 3, H = 13, W = 18, N = H * W;

describe('boundary-aware: value', () => {
  it.each([
    { bins: 5, radius: 5 },
    { bins: 3, radius: 7 },
    { bins: 1, radius: 2 },
    { bins: 4, radius: 2 },
  ])('equals the brute-force definition (K = $bins, R = $radius, non-square, B = 2, an image lacking a class)', ({ bins, radius }) => {
    const target = blobTarget(B, H, W, C, 3);
    const logits = Float32Array.from(uniform(rng(5), B * C * bins * N, -3, 3));
    const shape: LossShape = [B, C * bins, H, W];
    const expected = referenceLoss(logits, target, referenceBins(target, B, C, H, W, bins, radius), B, C, N, bins);
    const { value } = computeLoss('boundary-aware', { logits, target, shape }, { bins, radius });
    expectClose(value, expected, 1e-6, 0, 'value');
    const f64 = computeLoss('boundary-aware', { logits: Float64Array.from(logits), target, shape }, { bins, radius });
    expectClose(f64.value, expected, 1e-12, 0, 'float64 value');
  });

  it('ignoreIndex: ignored pixels are no distance source and contribute nothing', () => {
    const target = blobTarget(B, H, W, C, 4);
    for (let j = 0; j < target.length; j += 7) target[j] = 255;
    const logits = Float64Array.from(uniform(rng(6), B * C * 5 * N, -2, 2));
    const shape: LossShape = [B, C * 5, H, W];
    const expected = referenceLoss(logits, target, referenceBins(target, B, C, H, W, 5, 5, 255), B, C, N, 5, 255);
    const result = computeLoss('boundary-aware', { logits, target, shape }, { ignoreIndex: 255, grad: true });
    expectClose(result.value, expected, 1e-12, 0, 'value');
    for (let b = 0; b < B; ++b)
      for (let ch = 0; ch < C * 5; ++ch)
        for (let i = 0; i < N; i += 7) if (target[b * N + i] === 255) expect(result.grad[(b * C * 5 + ch) * N + i]).toBe(0);
  });

  it('an all-ignored batch gives 0 and a zero gradient; a one-class image has no NaN', () => {
    const shape: LossShape = [1, 2 * 5, 4, 5];
    const logits = new Float32Array(2 * 5 * 20).fill(3);
    const ignored = computeLoss('boundary-aware', { logits, target: new Uint8Array(20).fill(9), shape }, { ignoreIndex: 9, grad: true });
    expect(ignored.value).toBe(0);
    expect(ignored.grad.every((g) => g === 0)).toBe(true);
    const full = computeLoss('boundary-aware', { logits, target: new Uint8Array(20).fill(1), shape }, { grad: true });
    expect(Number.isFinite(full.value) && full.grad.every(Number.isFinite)).toBe(true);
  });

  it('3-D volumes: the same definition with 3-D distances', () => {
    const shape: LossShape = [1, 2 * 3, 4, 5, 6];
    const n = 120;
    const target = new Uint8Array(n).map((_, i) => (Math.floor(i / 30) >= 1 && (i % 6) >= 2 && Math.floor(i / 6) % 5 >= 1 ? 1 : 0));
    const logits = Float64Array.from(uniform(rng(8), 6 * n, -2, 2));
    // brute force in 3-D
    const bins = new Int32Array(2 * n).fill(-1);
    const at = (i: number): [number, number, number] => [Math.floor(i / 30), Math.floor(i / 6) % 5, i % 6];
    for (let i = 0; i < n; ++i) {
      let best = Infinity;
      for (let j = 0; j < n; ++j) {
        if (target[j] === target[i]) continue;
        const [a, b2, c] = at(i), [d, e, f] = at(j);
        best = Math.min(best, (a - d) ** 2 + (b2 - e) ** 2 + (c - f) ** 2);
      }
      bins[target[i] * n + i] = Math.floor(((Math.min(Math.ceil(Math.sqrt(best)), 5) - 1) * 3) / 5);
    }
    const expected = referenceLoss(logits, Int32Array.from(target), bins, 1, 2, n, 3);
    expectClose(computeLoss('boundary-aware', { logits, target, shape }, { bins: 3 }).value, expected, 1e-12, 0, '3-D value');
  });
});

describe('boundary-aware: properties', () => {
  it.each([
    { bins: 5, radius: 5 },
    { bins: 2, radius: 6 },
    { bins: 7, radius: 3 },
  ])('a perfect bin prediction decodes to the target exactly (K = $bins, R = $radius)', ({ bins, radius }) => {
    const target = blobTarget(B, H, W, C, 11);
    const logits = perfectLogits(referenceBins(target, B, C, H, W, bins, radius), B, C, N, bins, 4);
    expect(Array.from(decodeBoundaryAware(logits, [B, C * bins, H, W], { bins, radius }))).toEqual(Array.from(target));
    expect(Array.from(decodeBoundaryAware(Float32Array.from(logits), [B, C * bins, H, W], { bins, radius }))).toEqual(Array.from(target));
  });

  it('the decoder fills a class from its deep pixels alone (union of disks)', () => {
    // a 9×9 square of class 1: only its centre pixel is predicted, in the deepest bin (ρ = 4)
    const h = 11, w = 11, n = h * w;
    const logits = new Float64Array(2 * 5 * n).fill(-5);
    const centre = 5 * w + 5;
    logits[(1 * 5 + 4) * n + centre] = 5;
    const decoded = decodeBoundaryAware(logits, [1, 10, h, w]);
    for (let i = 0; i < n; ++i) {
      const inDisk = (Math.floor(i / w) - 5) ** 2 + ((i % w) - 5) ** 2 <= 16;
      expect(decoded[i], `pixel ${i}`).toBe(inDisk ? 1 : 0);
    }
  });

  it('the loss falls as bins get right', () => {
    const target = blobTarget(B, H, W, C, 12);
    const shape: LossShape = [B, C * 5, H, W];
    const good = perfectLogits(referenceBins(target, B, C, H, W, 5, 5), B, C, N, 5, 3);
    const random = Float64Array.from(uniform(rng(13), good.length, -3, 3));
    const order = Array.from({ length: good.length }, (_, i) => i).sort((a, b) => ((a * 7919) % 104729) - ((b * 7919) % 104729));
    let previous = Infinity;
    for (let step = 0; step <= 10; ++step) {
      const logits = Float64Array.from(random);
      const right = Math.round((order.length * step) / 10);
      for (let k = 0; k < right; ++k) logits[order[k]] = good[order[k]];
      const { value } = computeLoss('boundary-aware', { logits, target, shape });
      expect(value, `${step}/10 of the bins right`).toBeLessThan(previous);
      previous = value;
    }
  });
});

describe('boundary-aware: gradient', () => {
  it.each([
    { name: 'defaults', options: {} },
    { name: 'K = 3, R = 4, gradScale 0.7, ignoreIndex', options: { bins: 3, radius: 4, gradScale: 0.7, ignoreIndex: 7 } },
  ])('float64 finite differences ($name)', ({ options }) => {
    const k = (options as { bins?: number }).bins ?? 5;
    const h = 5, w = 7, n = h * w;
    const target = blobTarget(2, h, w, 2, 21);
    if ('ignoreIndex' in options) for (let j = 0; j < target.length; j += 6) target[j] = 7;
    const shape: LossShape = [2, 2 * k, h, w];
    const logits = Float64Array.from(uniform(rng(22), 2 * 2 * k * n, -2, 2));
    const value = (x: Float64Array): number => computeLoss('boundary-aware', { logits: x, target, shape }, { ...options, gradScale: 1 }).value;
    const result = computeLoss('boundary-aware', { logits, target, shape }, { ...options, grad: true });
    const scale = (options as { gradScale?: number }).gradScale ?? 1;
    const numeric = finiteDifferences(value, logits, 1e-6).map((g) => g * scale);
    expect(numeric.some((g) => g !== 0)).toBe(true);
    expectArrayClose(result.grad, numeric, 1e-6, 1, 'grad');
  });

  it('computeLossAsync equals computeLoss, and gradOut receives the gradient', async () => {
    const target = blobTarget(B, H, W, C, 31);
    const logits = Float32Array.from(uniform(rng(32), B * C * 5 * N, -2, 2));
    const shape: LossShape = [B, C * 5, H, W];
    const sync = computeLoss('boundary-aware', { logits, target, shape }, { grad: true });
    const gradOut = new Float32Array(logits.length);
    const async = await computeLossAsync('boundary-aware', { logits, target, shape }, { grad: true, gradOut });
    expect(async.value).toBe(sync.value);
    expect(async.grad).toBe(gradOut);
    expect(Array.from(gradOut)).toEqual(Array.from(sync.grad));
  });

  it('computeLossTorch (the autograd op) equals computeLoss', () => {
    if (!torchAvailable()) return;
    const target = blobTarget(B, H, W, C, 33);
    const logits = Float64Array.from(uniform(rng(34), B * C * 5 * N, -2, 2));
    const shape: LossShape = [B, C * 5, H, W];
    const core = computeLoss('boundary-aware', { logits, target, shape }, { grad: true, gradScale: 0.3, ignoreIndex: 2 });
    const torch = computeLossTorch('boundary-aware', { logits, target, shape }, { grad: true, gradScale: 0.3, ignoreIndex: 2 });
    expectClose(torch.value, core.value, 1e-14, 0, 'torch value');
    expectArrayClose(torch.grad, core.grad, 1e-14, 1, 'torch grad');
  });

  it('the cached target transform is never stale: a target edited in place is transformed again', () => {
    const target = blobTarget(1, H, W, 2, 41);
    const logits = Float64Array.from(uniform(rng(42), 2 * 5 * N, -2, 2));
    const shape: LossShape = [1, 10, H, W];
    const first = computeLoss('boundary-aware', { logits, target, shape }).value;
    expect(computeLoss('boundary-aware', { logits, target, shape }).value).toBe(first);
    target[3 * W + 4] = 1 - target[3 * W + 4];
    const expected = referenceLoss(logits, target, referenceBins(target, 1, 2, H, W, 5, 5), 1, 2, N, 5);
    expectClose(computeLoss('boundary-aware', { logits, target, shape }).value, expected, 1e-12, 0, 'after the edit');
  });
});

describe('boundary-aware: bad input', () => {
  const logits = new Float32Array(2 * 5 * 12);
  const target = new Uint8Array(12);
  const shape: LossShape = [1, 10, 3, 4];
  it.each([
    { name: 'bins 0', options: { bins: 0 }, error: 'RangeError', mentions: 'bins' },
    { name: 'radius 0', options: { radius: 0 }, error: 'RangeError', mentions: 'radius' },
    { name: 'bins 2.5', options: { bins: 2.5 }, error: 'RangeError', mentions: 'bins' },
    { name: "radius '5'", options: { radius: '5' }, error: 'TypeError', mentions: 'radius' },
    { name: 'channels not C·K', options: { bins: 3 }, error: 'RangeError', mentions: 'shape[1] (C·K)' },
    { name: 'softmax', options: { activation: 'softmax' }, error: 'RangeError', mentions: 'activation' },
  ])('$name', ({ options, error, mentions }) => {
    const e = thrownBy(() => computeLoss('boundary-aware', { logits, target, shape }, options as never));
    expect(e?.name).toBe(error);
    expect(e?.code).toBe('SEGLOSS_INVALID_ARGUMENT');
    expect(e?.message).toContain(mentions);
  });
  it('a label ≥ C (C = channels / K) names the position', () => {
    const bad = Uint8Array.from(target);
    bad[5] = 2;
    const e = thrownBy(() => computeLoss('boundary-aware', { logits, target: bad, shape }));
    expect(e?.name).toBe('RangeError');
    expect(e?.message).toContain('[0, 2)');
    expect(e?.message).toContain('[b, h, w] = [0, 1, 1]');
  });
  it('it cannot be a term of a compound loss', () => {
    const e = thrownBy(() => computeLoss([{ loss: 'boundary-aware' }], { logits, target, shape }));
    expect(e?.name).toBe('RangeError');
    expect(e?.message).toContain('loss[0].loss');
  });
  it('decodeBoundaryAware checks its arguments', () => {
    expect(thrownBy(() => decodeBoundaryAware(logits, [1, 10, 3, 4], { bins: 4 }))?.message).toContain('shape[1] (C·K)');
    expect(thrownBy(() => decodeBoundaryAware(logits, [1, 10, 3, 5]))?.message).toContain('logits');
    expect(thrownBy(() => decodeBoundaryAware(logits, [1, 10, 3, 4], { bin: 5 } as never))?.name).toBe('RangeError');
  });
});
