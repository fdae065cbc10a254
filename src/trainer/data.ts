/**
 * Checks of the data handed to a trainer: array types, the shape against the model, lengths,
 * labels in [0, K) (or the ignore index) and finite images. Messages name the argument
 * (`data.images`, `options.validation.masks`, ...) and give positions as [n, h, w] / [n, c, h, w].
 */
import { findInvalidLabel, findNonFinite } from '../input';
import { describe, is, rangeError, rangeErrorText, typeError } from '../validate';
import type { NativeData } from './native';
import type { ResolvedModelOptions } from './native';
import { checkInteger } from './config';

const TARGET_TYPES = 'Uint8Array, Uint16Array or Int32Array';
/** The smallest H and W a UNet with four 2×2 poolings takes. */
export const MIN_SIZE = 16;

function unravel(index: number, dims: readonly number[]): number[] {
  const coords = new Array<number>(dims.length);
  for (let k = dims.length - 1; k >= 0; --k) {
    coords[k] = index % dims[k];
    index = Math.floor(index / dims[k]);
  }
  return coords;
}

/**
 * Checks `shape` = [N, Cin, H, W] against the model: Cin; H and W ≥ 16; for TransUNet in training
 * (`resizable` false) H = W = imageSize — evaluate and predict resize slices to imageSize.
 */
export function checkImageShape(shape: unknown, name: string, model: ResolvedModelOptions, resizable = false): [number, number, number, number] {
  if (!Array.isArray(shape)) throw typeError('an array [N, Cin, H, W]', name, shape);
  if (shape.length !== 4) throw rangeErrorText('4 entries [N, Cin, H, W]', name, `${shape.length} entries: ${describe(shape)}`);
  const axes = ['N', 'Cin', 'H', 'W'];
  const checked = shape.map((entry: unknown, i) => checkInteger(entry, `${name}[${i}] (${axes[i]})`, 1)) as [number, number, number, number];
  if (checked[1] !== model.inChannels) {
    throw rangeError(`the model's inChannels ${model.inChannels}`, `${name}[1] (Cin)`, checked[1]);
  }
  for (const i of [2, 3]) {
    if (model.name === 'transunet' && !resizable) {
      if (checked[i] !== model.imageSize) throw rangeError(`the model's imageSize ${model.imageSize}`, `${name}[${i}] (${axes[i]})`, checked[i]);
      continue;
    }
    if (checked[i] < MIN_SIZE) throw rangeError(`an integer ≥ ${MIN_SIZE} (the UNet pools 4 times)`, `${name}[${i}] (${axes[i]})`, checked[i]);
  }
  return checked;
}

/**
 * A UNet on images under 32 × 32 has a 1 × 1 deepest feature map, where BatchNorm in training needs
 * more than one image per batch: refuses a `batchSize` that leaves a batch of a single image.
 */
export function checkBatchNormBatches(model: ResolvedModelOptions, shape: readonly number[], batchSize: number, name: string): void {
  if (model.name !== 'unet') return;
  const deepest = Math.floor(shape[2] / MIN_SIZE) * Math.floor(shape[3] / MIN_SIZE);
  const n = shape[0];
  const smallest = n <= batchSize ? n : n % batchSize || batchSize;
  if (deepest * smallest > 1) return;
  throw rangeErrorText(
    `a batch size that leaves no batch of one image (at ${shape[2]}×${shape[3]} the UNet's deepest feature map is 1×1, and BatchNorm needs more than one value per channel)`,
    name,
    `${batchSize} (N = ${n} leaves a batch of 1)`,
  );
}

/** Checks `images` (Float32Array [N, Cin, H, W], finite) against a checked shape. */
export function checkImages(images: unknown, shape: readonly number[], name: string): Float32Array {
  if (!(images instanceof Float32Array)) throw typeError('a Float32Array [N, Cin, H, W]', name, images);
  const expected = shape[0] * shape[1] * shape[2] * shape[3];
  if (images.length !== expected) {
    throw rangeErrorText(`length ${expected} (N·Cin·H·W of shape [${shape.join(', ')}])`, name, `length ${images.length}`);
  }
  const bad = findNonFinite(images);
  if (bad >= 0) {
    throw rangeErrorText('finite values', name, `${images[bad]} at index ${bad} ([n, c, h, w] = [${unravel(bad, shape).join(', ')}])`);
  }
  return images;
}

function checkMasks(masks: unknown, shape: readonly number[], name: string, classes: number, ignoreIndex: number | null): NativeData['masks'] {
  if (!(masks instanceof Uint8Array || masks instanceof Uint16Array || masks instanceof Int32Array)) {
    throw typeError(`a ${TARGET_TYPES} [N, H, W]`, name, masks);
  }
  const dims = [shape[0], shape[2], shape[3]];
  const expected = dims[0] * dims[1] * dims[2];
  if (masks.length !== expected) {
    throw rangeErrorText(`length ${expected} (N·H·W of shape [${shape.join(', ')}])`, name, `length ${masks.length}`);
  }
  const bad = findInvalidLabel(masks, classes, ignoreIndex);
  if (bad >= 0) {
    const allowed = ignoreIndex === null ? `[0, ${classes})` : `[0, ${classes}) or the ignoreIndex ${ignoreIndex}`;
    throw rangeErrorText(`class indices in ${allowed}`, name, `${masks[bad]} at [n, h, w] = [${unravel(bad, dims).join(', ')}]`);
  }
  return masks;
}

/** Checks a TrainingData object `{ images, masks, shape }` named `name` (e.g. 'data'). */
export function checkTrainingData(
  data: unknown,
  name: string,
  model: ResolvedModelOptions,
  ignoreIndex: number | null,
  resizable = false,
): NativeData {
  if (!is.object(data)) throw typeError('an object { images, masks, shape }', name, data);
  const shape = checkImageShape(data.shape, `${name}.shape`, model, resizable);
  const images = checkImages(data.images, shape, `${name}.images`);
  const masks = checkMasks(data.masks, shape, `${name}.masks`, model.numClasses, ignoreIndex);
  return { images, masks, shape };
}

/** Checks `cases` (images per case, positive integers summing to N). */
export function checkCases(cases: unknown, n: number, name: string): number[] | undefined {
  if (cases === undefined) return undefined;
  if (!Array.isArray(cases)) throw typeError('an array of slice counts', name, cases);
  const counts = cases.map((c: unknown, i) => checkInteger(c, `${name}[${i}]`, 1));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== n) throw rangeErrorText(`counts summing to N = ${n}`, name, `a sum of ${total}`);
  return counts;
}
