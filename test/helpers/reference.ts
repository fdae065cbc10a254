// Plain float64 JavaScript references of cross-entropy, Dice and the region losses (softmax,
// default conventions, ignoreIndex where given), written from docs/losses.md; used for edge shapes the fixtures do not hold.
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

/** Options shared by the plain references of the region losses below. */
export interface ReferenceRegionOptions {
  perImage?: boolean;
  includeBackground?: boolean;
  smooth?: number;
  /** Label whose pixels contribute nothing. */
  ignoreIndex?: number | null;
}

/** Sums of one (group, class) over valid pixels: I = Σ p g, P = Σ p, G = Σ g, P2 = Σ p², P2G = Σ p² g; N valid pixels. */
export interface ReferenceClassSums {
  I: number;
  P: number;
  G: number;
  P2: number;
  P2G: number;
  N: number;
  /** Σ(g − p)² g and Σ(g − p)² (1 − g), summed directly. */
  errorIn: number;
  errorOut: number;
}

/**
 * mean over groups (images when perImage, else the batch) and classes of term(sums), softmax
 * probabilities, pixels labelled ignoreIndex skipped: the frame every region loss below uses.
 */
export function referenceRegionMean(
  logits: ArrayLike<number>, // [B, C, N]
  target: ArrayLike<number>, // [B, N]
  shape: readonly number[],
  options: ReferenceRegionOptions,
  term: (s: ReferenceClassSums) => number,
): number {
  const { perImage = false, includeBackground = true, ignoreIndex = null } = options;
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const p = softmaxChannels(logits, batch, channels, pixels);
  const groups = perImage ? batch : 1;
  const first = includeBackground ? 0 : 1;
  let total = 0;
  for (let grp = 0; grp < groups; ++grp) {
    const images = perImage ? [grp] : Array.from({ length: batch }, (_, b) => b);
    for (let c = first; c < channels; ++c) {
      const s: ReferenceClassSums = { I: 0, P: 0, G: 0, P2: 0, P2G: 0, N: 0, errorIn: 0, errorOut: 0 };
      for (const b of images) {
        for (let i = 0; i < pixels; ++i) {
          const t = target[b * pixels + i];
          if (t === ignoreIndex) continue;
          const pc = p[(b * channels + c) * pixels + i];
          const g = t === c ? 1 : 0;
          s.I += pc * g;
          s.P += pc;
          s.G += g;
          s.P2 += pc * pc;
          s.P2G += pc * pc * g;
          s.N += 1;
          s.errorIn += (g - pc) ** 2 * g;
          s.errorOut += (g - pc) ** 2 * (1 - g);
        }
      }
      total += term(s);
    }
  }
  return total / (groups * (channels - first));
}

/** TI = (I + s)/(I + α(P − I) + β(G − I) + s). */
export function referenceTverskyIndex(s: ReferenceClassSums, smooth: number, alpha: number, beta: number): number {
  return (s.I + smooth) / (s.I + alpha * (s.P - s.I) + beta * (s.G - s.I) + smooth);
}

/** 1 − mean_c (I + s)/(P + G − I + s). */
export function referenceJaccard(logits: ArrayLike<number>, target: ArrayLike<number>, shape: readonly number[], options: ReferenceRegionOptions = {}): number {
  const smooth = options.smooth ?? 1e-5;
  return referenceRegionMean(logits, target, shape, options, (s) => 1 - referenceTverskyIndex(s, smooth, 1, 1));
}

/** 1 − mean_c TI_c. */
export function referenceTversky(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  shape: readonly number[],
  options: ReferenceRegionOptions & { alpha?: number; beta?: number } = {},
): number {
  const { smooth = 1e-5, alpha = 0.3, beta = 0.7 } = options;
  return referenceRegionMean(logits, target, shape, options, (s) => 1 - referenceTverskyIndex(s, smooth, alpha, beta));
}

/** mean_c (1 − TI_c)^(1/γ) (the exponent per class: the default of focal-tversky). */
export function referenceFocalTversky(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  shape: readonly number[],
  options: ReferenceRegionOptions & { alpha?: number; beta?: number; gamma?: number } = {},
): number {
  const { smooth = 1e-5, alpha = 0.3, beta = 0.7, gamma = 4 / 3 } = options;
  return referenceRegionMean(logits, target, shape, options, (s) => (1 - referenceTverskyIndex(s, smooth, alpha, beta)) ** (1 / gamma));
}

/** mean_c r·Σ(g − p)²g/(Σg + s) + (1 − r)·Σ(g − p)²(1 − g)/(Σ(1 − g) + s). */
export function referenceSensitivitySpecificity(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  shape: readonly number[],
  options: ReferenceRegionOptions & { r?: number } = {},
): number {
  const { smooth = 1e-5, r = 0.05 } = options;
  return referenceRegionMean(
    logits,
    target,
    shape,
    options,
    (s) => (r * s.errorIn) / (s.G + smooth) + ((1 - r) * s.errorOut) / (s.N - s.G + smooth),
  );
}

/**
 * Generalized Wasserstein Dice (Fidon 2017) with softmax probabilities, per image over its valid
 * pixels, mean over images; M [K][K] already scaled to max 1; 'gdl' weighting α_a = 1/(G_a + 1).
 */
export function referenceGeneralizedWassersteinDice(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  shape: readonly number[],
  M: readonly (readonly number[])[],
  options: { weighting?: 'default' | 'gdl'; ignoreIndex?: number | null } = {},
): number {
  const { weighting = 'default', ignoreIndex = null } = options;
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const p = softmaxChannels(logits, batch, channels, pixels);
  const eps = 2.220446049250313e-16;
  let total = 0;
  for (let b = 0; b < batch; ++b) {
    const volume = new Array<number>(channels).fill(0);
    for (let i = 0; i < pixels; ++i) if (target[b * pixels + i] !== ignoreIndex) volume[target[b * pixels + i]] += 1;
    const alpha = volume.map((g, a) => (weighting === 'gdl' ? 1 / (g + 1) : a === 0 ? 0 : 1));
    let tp = 0;
    let wsum = 0;
    let gdlDen = 0;
    for (let i = 0; i < pixels; ++i) {
      const t = target[b * pixels + i];
      if (t === ignoreIndex) continue;
      let W = 0;
      for (let c = 0; c < channels; ++c) W += M[t][c] * p[(b * channels + c) * pixels + i];
      tp += alpha[t] * (1 - W);
      wsum += W;
      gdlDen += alpha[t] * (2 - W);
    }
    const den = weighting === 'gdl' ? gdlDen : 2 * tp + wsum;
    total += 1 - (2 * tp + eps) / (den + eps);
  }
  return total / batch;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~1e-15 relative), for the robust-t reference. */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const y = x - 1;
  let a = c[0];
  const t = y + 7.5;
  for (let i = 1; i < 9; ++i) a += c[i] / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * robust-t (Gonzalez-Jimenez 2023) with softmax probabilities: per image and foreground class, the
 * t-loss of p_c − g_c over the image's D valid pixels (λ = 1, ε = 1e-8), mean over images and classes.
 */
export function referenceRobustT(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  shape: readonly number[],
  theta = 1,
  ignoreIndex: number | null = null,
): number {
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const p = softmaxChannels(logits, batch, channels, pixels);
  const eps = 1e-8;
  const nu = Math.exp(theta) + eps;
  let total = 0;
  for (let b = 0; b < batch; ++b) {
    for (let c = 1; c < channels; ++c) {
      let D = 0;
      let S = 0;
      for (let i = 0; i < pixels; ++i) {
        const t = target[b * pixels + i];
        if (t === ignoreIndex) continue;
        D += 1;
        S += (p[(b * channels + c) * pixels + i] - (t === c ? 1 : 0)) ** 2;
      }
      if (D === 0) continue;
      S *= Math.exp(1 + eps);
      total += -lnGamma((nu + D) / 2) + lnGamma(nu / 2) - 0.5 * D * (1 + eps) + (D / 2) * Math.log(Math.PI) + (D / 2) * (theta + eps) + ((nu + D) / 2) * Math.log(1 + S / nu);
    }
  }
  return total / (batch * (channels - 1));
}
