// inverseform (spec 19): the loss is 0 at identity and grows monotonically with the size of a
// shift, scale or rotation of the predicted boundaries (a real mask: the horse silhouette the
// shipped masks hold, at half resolution); its gradient is non-zero and equals float64 finite
// differences; the CE and balanced-BCE terms equal their definitions; the shipped network, its
// native training (trainInverseForm, `segloss train-inverseform`), and the argument errors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  computeLoss,
  computeLossAsync,
  computeLossTorch,
  defaultInverseFormNetwork,
  inverseFormParameterCount,
  loadInverseFormMasks,
  loadInverseFormNetwork,
  torchAvailable,
  trainInverseForm,
} from '../src/index';
import { main } from '../src/cli/segloss';
import { inverseFormWeightsPath } from '../src/inverseform';
import { thrownBy } from './helpers/errors';
import { expectArrayClose, expectClose, rng, uniform } from './helpers/numeric';

/** The horse mask at half resolution, cropped to [H, W] (labels 0 / 1). */
function horse(H = 160, W = 192): Uint8Array {
  const m = loadInverseFormMasks();
  const out = new Uint8Array(H * W);
  for (let y = 0; y < H; ++y) for (let x = 0; x < W; ++x) out[y * W + x] = m.masks[2 * y * m.width + 2 * x + 8];
  return out;
}

/** The 3×3 edge map of a label map (as the loss defines the target's edges). */
function edgesOf(labels: ArrayLike<number>, H: number, W: number): Uint8Array {
  const e = new Uint8Array(H * W);
  for (let y = 0; y < H; ++y)
    for (let x = 0; x < W; ++x) {
      let edge = 0;
      for (let dy = -1; dy <= 1; ++dy)
        for (let dx = -1; dx <= 1; ++dx) {
          const yy = y + dy, xx = x + dx;
          if (yy >= 0 && xx >= 0 && yy < H && xx < W && labels[yy * W + xx] !== labels[y * W + x]) edge = 1;
        }
      e[y * W + x] = edge;
    }
  return e;
}

/** The mask warped about its centre: q = A (p − c) + c + t, nearest neighbour (0 outside). */
function warp(mask: Uint8Array, H: number, W: number, scale: number, degrees: number, ty: number, tx: number): Uint8Array {
  const out = new Uint8Array(H * W);
  const r = (degrees * Math.PI) / 180, cy = H / 2, cx = W / 2;
  for (let y = 0; y < H; ++y)
    for (let x = 0; x < W; ++x) {
      // inverse map of the output pixel
      const dy = (y - cy - ty) / scale, dx = (x - cx - tx) / scale;
      const sy = Math.round(cy + Math.cos(r) * dy + Math.sin(r) * dx), sx = Math.round(cx - Math.sin(r) * dy + Math.cos(r) * dx);
      out[y * W + x] = sy >= 0 && sx >= 0 && sy < H && sx < W ? mask[sy * W + sx] : 0;
    }
  return out;
}

/** Logits [1, 3, H, W]: segmentation logits of the target, the edge logit ±m of `predicted`'s edges. */
function logitsFor(target: Uint8Array, predictedEdges: Uint8Array, m: number, Type: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array) {
  const n = target.length;
  const logits = new Type(3 * n);
  for (let i = 0; i < n; ++i) {
    logits[i] = target[i] ? -2 : 2;
    logits[n + i] = target[i] ? 2 : -2;
    logits[2 * n + i] = predictedEdges[i] ? m : -m;
  }
  return logits;
}

const IF_ONLY = { segmentationWeight: 0, edgeWeight: 0, inverseFormWeight: 1 };
const H = 160, W = 192;
const target = horse(H, W);
const shape = [1, 3, H, W] as [number, number, number, number];
const ifOf = (predicted: Uint8Array): number =>
  computeLoss('inverseform', { logits: logitsFor(target, edgesOf(predicted, H, W), 40), target, shape }, IF_ONLY).value;

describe('inverseform: the InverseForm distance', () => {
  it('is 0 at identity (the prediction is the target\'s boundaries)', () => {
    expect(ifOf(target)).toBeLessThan(1e-9);
    const f32 = computeLoss('inverseform', { logits: logitsFor(target, edgesOf(target, H, W), 40, Float32Array), target, shape }, IF_ONLY).value;
    expect(f32).toBeLessThan(1e-6);
  });
  it.each([
    { name: 'shift (pixels)', sizes: [0, 1, 2, 3, 4], make: (s: number) => warp(target, H, W, 1, 0, s, s / 2) },
    { name: 'scale (relative)', sizes: [0, 0.04, 0.08, 0.12], make: (s: number) => warp(target, H, W, 1 + s, 0, 0, 0) },
    // about the image's centre: 4° moves the boundaries up to ≈ 6 px, the range the network was trained for
    { name: 'rotation (degrees)', sizes: [0, 1, 2, 3, 4], make: (s: number) => warp(target, H, W, 1, s, 0, 0) },
  ])('grows monotonically with the size of a $name of the prediction', ({ sizes, make }) => {
    const values = sizes.map((s) => ifOf(make(s)));
    for (let k = 1; k < values.length; ++k) expect(values[k], `size ${sizes[k]} vs ${sizes[k - 1]}: ${values.join(', ')}`).toBeGreaterThan(values[k - 1]);
  });
  it('has a non-zero gradient for a shifted prediction, only in the edge channel and at valid pixels', () => {
    const shifted = edgesOf(warp(target, H, W, 1, 0, 3, 0), H, W);
    const t = Uint8Array.from(target);
    for (let i = 0; i < 40; ++i) t[i] = 255;
    const r = computeLoss('inverseform', { logits: logitsFor(t, shifted, 2), target: t, shape }, { ...IF_ONLY, ignoreIndex: 255, grad: true });
    let norm = 0;
    for (let i = 2 * H * W; i < 3 * H * W; ++i) norm += r.grad[i] ** 2;
    expect(Math.sqrt(norm)).toBeGreaterThan(1e-6);
    for (let i = 0; i < 2 * H * W; ++i) expect(r.grad[i]).toBe(0);
    for (let i = 0; i < 40; ++i) expect(r.grad[2 * H * W + i]).toBe(0);
  });
});

/** A small float64 case: B = 2, C = 2 (+ edge), 36 × 40 (two tiles by two, padded), ignored pixels. */
function smallCase() {
  const h = 36, w = 40, n = h * w, random = rng(9);
  const t = new Int32Array(2 * n);
  for (let b = 0; b < 2; ++b) for (let y = 0; y < h; ++y) for (let x = 0; x < w; ++x) t[b * n + y * w + x] = (x - 20 - 3 * b) ** 2 + (y - 18) ** 2 < 120 ? 1 : 0;
  for (let j = 0; j < t.length; j += 29) t[j] = 7;
  const logits = Float64Array.from(uniform(random, 2 * 3 * n, -2, 2));
  return { logits, target: t, shape: [2, 3, h, w] as [number, number, number, number] };
}

describe('inverseform: the combined objective', () => {
  const input = smallCase();
  const n = 36 * 40;
  it('CE term = cross-entropy of the segmentation channels; BCE term = the balanced BCE of the edge channel', () => {
    const seg = new Float64Array(2 * 2 * n);
    for (let b = 0; b < 2; ++b) seg.set(input.logits.subarray(b * 3 * n, b * 3 * n + 2 * n), b * 2 * n);
    const ce = computeLoss('cross-entropy', { logits: seg, target: input.target, shape: [2, 2, 36, 40] }, { ignoreIndex: 7 }).value;
    expectClose(computeLoss('inverseform', input, { segmentationWeight: 1, edgeWeight: 0, inverseFormWeight: 0, ignoreIndex: 7 }).value, ce, 1e-12, 0, 'CE');
    // InverseForm's bce2d: weights (negatives / all) on edge pixels and (positives / all) on the others, mean over pixels
    let pos = 0, valid = 0, sum = 0;
    const edges: number[] = [];
    for (let b = 0; b < 2; ++b) {
      const labels = Array.from(input.target.subarray(b * n, (b + 1) * n), (v) => (v === 7 ? -1 : v));
      for (let i = 0; i < n; ++i) {
        let e = 0;
        if (labels[i] >= 0) for (let dy = -1; dy <= 1; ++dy) for (let dx = -1; dx <= 1; ++dx) {
          const y = Math.floor(i / 40) + dy, x = (i % 40) + dx;
          if (y >= 0 && x >= 0 && y < 36 && x < 40 && labels[y * 40 + x] >= 0 && labels[y * 40 + x] !== labels[i]) e = 1;
        }
        edges.push(labels[i] >= 0 ? e : -1);
        if (labels[i] >= 0) { valid += 1; pos += e; }
      }
    }
    for (let b = 0; b < 2; ++b)
      for (let i = 0; i < n; ++i) {
        const e = edges[b * n + i];
        if (e < 0) continue;
        const z = input.logits[(b * 3 + 2) * n + i], wgt = e ? (valid - pos) / valid : pos / valid;
        sum += wgt * (Math.max(z, 0) - z * e + Math.log1p(Math.exp(-Math.abs(z))));
      }
    expectClose(computeLoss('inverseform', input, { segmentationWeight: 0, edgeWeight: 1, inverseFormWeight: 0, ignoreIndex: 7 }).value, sum / valid, 1e-12, 0, 'BCE');
  });
  it('float64 finite differences of the whole objective (every 5th logit, gradScale 0.6)', () => {
    const options = { ignoreIndex: 7, edgeWeight: 0.5, inverseFormWeight: 2 };
    const value = (x: Float64Array): number => computeLoss('inverseform', { ...input, logits: x }, options).value;
    const r = computeLoss('inverseform', input, { ...options, grad: true, gradScale: 0.6 });
    const picked = Array.from({ length: Math.ceil(input.logits.length / 5) }, (_, k) => 5 * k);
    const probe = Float64Array.from(input.logits);
    const numeric = picked.map((i) => {
      probe[i] = input.logits[i] + 1e-6;
      const up = value(probe);
      probe[i] = input.logits[i] - 1e-6;
      const down = value(probe);
      probe[i] = input.logits[i];
      return (0.6 * (up - down)) / 2e-6;
    });
    expect(numeric.some((g, k) => g !== 0 && picked[k] % (3 * 1440) >= 2 * 1440)).toBe(true);
    expectArrayClose(picked.map((i) => r.grad[i]), numeric, 1e-5, 1, 'grad');
  }, 180_000);
  it('computeLossAsync and computeLossTorch equal computeLoss', async () => {
    const sync = computeLoss('inverseform', input, { ignoreIndex: 7, grad: true });
    const async = await computeLossAsync('inverseform', input, { ignoreIndex: 7, grad: true });
    expect(async.value).toBe(sync.value);
    expect(Array.from(async.grad)).toEqual(Array.from(sync.grad));
    if (!torchAvailable()) return;
    const torch = computeLossTorch('inverseform', input, { ignoreIndex: 7, grad: true });
    expectClose(torch.value, sync.value, 1e-14, 0, 'torch value');
    expectArrayClose(torch.grad, sync.grad, 1e-14, 1, 'torch grad');
  });
  it('an all-ignored batch gives 0 and a zero gradient', () => {
    const r = computeLoss('inverseform', { ...input, target: new Int32Array(input.target.length).fill(7) }, { ignoreIndex: 7, grad: true });
    expect(r.value).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });
});

describe('inverseform: the network and its training', () => {
  it('ships a network of a few hundred kB that loads', () => {
    const bytes = fs.statSync(inverseFormWeightsPath).size;
    expect(bytes).toBe(12 + 4 * inverseFormParameterCount);
    expect(bytes).toBeLessThan(2 ** 20);
    const network = loadInverseFormNetwork(inverseFormWeightsPath);
    expect(Array.from(network)).toEqual(Array.from(defaultInverseFormNetwork()));
  });
  it('trainInverseForm is deterministic for a seed and lowers its regression loss; a network passed as `network` is used', async () => {
    const losses: number[] = [];
    const a = await trainInverseForm({ steps: 200, seed: 5, onProgress: (_step, loss) => losses.push(loss) });
    const b = await trainInverseForm({ steps: 200, seed: 5 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(losses.length).toBe(2);
    expect(losses[1]).toBeLessThan(losses[0]);
    expect(a.meanError).toBeGreaterThan(0);
    const shifted = { logits: logitsFor(target, edgesOf(warp(target, H, W, 1, 0, 3, 0), H, W), 40), target, shape };
    expect(computeLoss('inverseform', shifted, { ...IF_ONLY, network: a }).value).not.toBe(computeLoss('inverseform', shifted, IF_ONLY).value);
  }, 120_000);
  it('`segloss train-inverseform` writes a weight file', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-if-')), 'net.bin');
    const code = await main(['train-inverseform', '--steps', '50', '--seed', '2', '--out', out]);
    expect(code).toBe(0);
    expect(loadInverseFormNetwork(out).length).toBe(inverseFormParameterCount);
    expect(await main(['train-inverseform', '--bogus', '1'])).toBe(2);
  }, 120_000);
});

describe('inverseform: bad input', () => {
  const input = smallCase();
  it.each([
    { name: 'C + 1 < 3 channels', call: () => computeLoss('inverseform', { ...input, logits: input.logits.subarray(0, 2 * 2 * 1440), shape: [2, 2, 36, 40] }), error: 'RangeError', mentions: 'shape[1] (C + 1)' },
    { name: 'a network of the wrong length', call: () => computeLoss('inverseform', input, { network: new Float32Array(10) }), error: 'RangeError', mentions: 'network' },
    { name: 'a network of the wrong type', call: () => computeLoss('inverseform', input, { network: new Float64Array(inverseFormParameterCount) as never }), error: 'TypeError', mentions: 'network' },
    { name: 'a negative weight', call: () => computeLoss('inverseform', input, { edgeWeight: -1 }), error: 'RangeError', mentions: 'edgeWeight' },
    { name: 'sigmoid', call: () => computeLoss('inverseform', input, { activation: 'sigmoid' }), error: 'RangeError', mentions: 'activation' },
    { name: 'a label ≥ C', call: () => computeLoss('inverseform', { ...input, target: Int32Array.from(input.target, (v, i) => (i === 3 ? 2 : v)) }, { ignoreIndex: 7 }), error: 'RangeError', mentions: '[0, 2)' },
    { name: 'a compound term', call: () => computeLoss([{ loss: 'inverseform' }], input), error: 'RangeError', mentions: 'loss[0].loss' },
  ])('$name', ({ call, error, mentions }) => {
    const e = thrownBy(call);
    expect(e?.name).toBe(error);
    expect(e?.message).toContain(mentions);
  });
  it('trainInverseForm rejects bad options', async () => {
    await expect(trainInverseForm({ steps: 0 })).rejects.toThrow(/steps/);
    await expect(trainInverseForm({ maxScale: 2 })).rejects.toThrow(/maxScale/);
  });
});
