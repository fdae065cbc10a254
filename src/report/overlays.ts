/**
 * The report's qualitative predictions: each test image as a grey PNG, and the target and the
 * prediction as class colours blended over it, as data: URIs (fast-png) for one self-contained file.
 */
import { encodeRgbPng } from '../datasets/png';

/** Class colours (index = class; class 0, the background, is left uncoloured). */
export const CLASS_COLOURS: readonly (readonly [number, number, number])[] = [
  [0, 0, 0], [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [188, 189, 34], [23, 190, 207], [174, 199, 232], [255, 187, 120],
  [152, 223, 138], [255, 152, 150], [197, 176, 213], [196, 156, 148], [247, 182, 210], [219, 219, 141],
  [158, 218, 229], [127, 127, 127],
];

export function classColour(c: number): readonly [number, number, number] {
  return c === 0 ? CLASS_COLOURS[0] : CLASS_COLOURS[1 + ((c - 1) % (CLASS_COLOURS.length - 1))];
}

/** A grey level in [0, 255] per pixel of the first channel, scaled to the image's own min..max. */
function greyLevels(image: Float32Array): Uint8Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  return Uint8Array.from(image, (v) => Math.round((v - lo) * scale));
}

async function pngDataUri(rgb: (i: number) => readonly [number, number, number], width: number, height: number): Promise<string> {
  const data = new Uint8Array(3 * width * height);
  for (let i = 0; i < width * height; i++) data.set(rgb(i), 3 * i);
  return 'data:image/png;base64,' + Buffer.from(await encodeRgbPng(width, height, data)).toString('base64');
}

/** The image, and the labels blended over it (α 0.6; `ignoreIndex` pixels left grey). */
export async function overlayPngs(
  image: Float32Array, // [H, W], the first channel
  labels: ArrayLike<number>, // [H, W]
  width: number,
  height: number,
  ignoreIndex?: number,
): Promise<{ image: string; overlay: string }> {
  const grey = greyLevels(image);
  const plain = await pngDataUri((i) => [grey[i], grey[i], grey[i]], width, height);
  const overlay = await pngDataUri(
    (i) => {
      const c = labels[i];
      if (c === 0 || c === ignoreIndex) return [grey[i], grey[i], grey[i]];
      const [r, g, b] = classColour(c);
      return [Math.round(0.4 * grey[i] + 0.6 * r), Math.round(0.4 * grey[i] + 0.6 * g), Math.round(0.4 * grey[i] + 0.6 * b)];
    },
    width,
    height,
  );
  return { image: plain, overlay };
}
