// Plain float64 JavaScript references of cross-entropy and Dice (softmax, default conventions),
// written from ../shared/spec/LOSSES.md; used for edge shapes the fixtures do not hold.
import { softmaxChannels } from './numeric';

/** Mean over valid pixels of −log softmax(z)_t. */
export function referenceCrossEntropy(
  logits: ArrayLike<number>, // [B, C, N]
  target: ArrayLike<number>, // [B, N]
  shape: readonly number[],
  ignoreIndex: number | null = null,
): number {
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const p = softmaxChannels(logits, batch, channels, pixels);
  let total = 0;
  let count = 0;
  for (let b = 0; b < batch; ++b) {
    for (let i = 0; i < pixels; ++i) {
      const t = target[b * pixels + i];
      if (t === ignoreIndex) continue;
      total -= Math.log(p[(b * channels + t) * pixels + i]);
      count += 1;
    }
  }
  return count === 0 ? 0 : total / count;
}

export interface ReferenceDiceOptions {
  perImage?: boolean;
  includeBackground?: boolean;
  smooth?: number;
  /** smp: classes with G = 0 contribute 0. */
  zeroAbsentClasses?: boolean;
}

/** 1 − mean_c (2I + s)/(P + G + s) with softmax probabilities. */
export function referenceDice(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  shape: readonly number[],
  options: ReferenceDiceOptions = {},
): number {
  const { perImage = false, includeBackground = true, smooth = 1e-5, zeroAbsentClasses = false } = options;
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const p = softmaxChannels(logits, batch, channels, pixels);
  const groups = perImage ? batch : 1;
  const first = includeBackground ? 0 : 1;
  let total = 0;
  for (let grp = 0; grp < groups; ++grp) {
    const images = perImage ? [grp] : Array.from({ length: batch }, (_, b) => b);
    for (let c = first; c < channels; ++c) {
      let I = 0;
      let P = 0;
      let G = 0;
      for (const b of images) {
        for (let i = 0; i < pixels; ++i) {
          const pc = p[(b * channels + c) * pixels + i];
          const g = target[b * pixels + i] === c ? 1 : 0;
          I += pc * g;
          P += pc;
          G += g;
        }
      }
      if (zeroAbsentClasses && G === 0) continue;
      total += 1 - (2 * I + smooth) / (P + G + smooth);
    }
  }
  return total / (groups * (channels - first));
}
