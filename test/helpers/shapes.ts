// Synthetic segmentation sets for the trainer tests: discs (class 1) and squares (class 2) of
// random size and place on a noisy background, at the same intensity, so the class is told by
// shape, not brightness. Deterministic for a seed.
import type { TrainingData } from '../../src/trainer/types';
import { rng } from './numeric';

/** N images [N, 1, size, size] with up to `classes − 1` kinds of shapes (1: discs, 2: squares). */
export function shapesData(n: number, size: number, seed: number, classes = 3): TrainingData {
  const random = rng(seed);
  const images = new Float32Array(n * size * size);
  const masks = new Uint8Array(n * size * size);
  for (let i = 0; i < n; ++i) {
    const offset = i * size * size;
    for (let p = 0; p < size * size; ++p) images[offset + p] = 0.25 * (random() - 0.5);
    for (let kind = 1; kind < classes; ++kind) {
      const r = size * (0.1 + 0.12 * random());
      const cx = r + random() * (size - 2 * r);
      const cy = r + random() * (size - 2 * r);
      for (let y = 0; y < size; ++y) {
        for (let x = 0; x < size; ++x) {
          const inside = kind === 1 ? (x - cx) ** 2 + (y - cy) ** 2 <= r * r : Math.abs(x - cx) <= r * 0.85 && Math.abs(y - cy) <= r * 0.85;
          if (!inside) continue;
          masks[offset + y * size + x] = kind;
          images[offset + y * size + x] = 1 + 0.25 * (random() - 0.5);
        }
      }
    }
  }
  return { images, masks, shape: [n, 1, size, size] };
}
