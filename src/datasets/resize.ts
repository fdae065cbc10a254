/** Resizing a split to another H × W: images bilinear (half-pixel centres), masks nearest. */
import type { TrainingData } from '../trainer/types';
import type { TargetArray } from '../types';

// Source coordinate lo, hi and weight of hi for each of `outSize` output samples (align_corners=False).
function bilinearTaps(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; w: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const x = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), inSize - 1);
    lo[i] = Math.floor(x);
    hi[i] = Math.min(lo[i] + 1, inSize - 1);
    w[i] = x - lo[i];
  }
  return { lo, hi, w };
}

function nearestIndex(inSize: number, outSize: number): Int32Array {
  const index = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) index[i] = Math.min(Math.floor(((i + 0.5) * inSize) / outSize), inSize - 1);
  return index;
}

/** [N, C, H, W] images to [N, C, outH, outW], bilinear. */
export function resizeImages(images: Float32Array, shape: readonly [number, number, number, number], outH: number, outW: number): Float32Array {
  const [n, c, h, w] = shape;
  const ty = bilinearTaps(h, outH);
  const tx = bilinearTaps(w, outW);
  const out = new Float32Array(n * c * outH * outW);
  for (let plane = 0; plane < n * c; plane++) {
    const src = plane * h * w;
    const dst = plane * outH * outW;
    for (let y = 0; y < outH; y++) {
      const r0 = src + ty.lo[y] * w;
      const r1 = src + ty.hi[y] * w;
      for (let x = 0; x < outW; x++) {
        const top = images[r0 + tx.lo[x]] * (1 - tx.w[x]) + images[r0 + tx.hi[x]] * tx.w[x];
        const bottom = images[r1 + tx.lo[x]] * (1 - tx.w[x]) + images[r1 + tx.hi[x]] * tx.w[x];
        out[dst + y * outW + x] = top * (1 - ty.w[y]) + bottom * ty.w[y];
      }
    }
  }
  return out;
}

/** [N, H, W] labels to [N, outH, outW], nearest neighbour (same array type). */
export function resizeMasks<T extends TargetArray>(masks: T, n: number, h: number, w: number, outH: number, outW: number): T {
  const iy = nearestIndex(h, outH);
  const ix = nearestIndex(w, outW);
  const Ctor = masks.constructor as new (length: number) => T;
  const out = new Ctor(n * outH * outW);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < outH; y++) {
      const row = i * h * w + iy[y] * w;
      for (let x = 0; x < outW; x++) out[i * outH * outW + y * outW + x] = masks[row + ix[x]];
    }
  }
  return out;
}

/** A split resized to outH × outW (the same object when it already has that size). */
export function resizeSplit(data: TrainingData, outH: number, outW: number): TrainingData {
  const [n, c, h, w] = data.shape;
  if (h === outH && w === outW) return data;
  return {
    images: resizeImages(data.images, data.shape, outH, outW),
    masks: resizeMasks(data.masks, n, h, w, outH, outW),
    shape: [n, c, outH, outW],
  };
}

/** The first `count` images of a split (the split itself when it has no more). */
export function firstImages(data: TrainingData, count: number): TrainingData {
  const [n, c, h, w] = data.shape;
  if (count >= n) return data;
  return {
    images: data.images.subarray(0, count * c * h * w),
    masks: data.masks.subarray(0, count * h * w),
    shape: [count, c, h, w],
  };
}
