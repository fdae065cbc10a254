/**
 * Synapse multi-organ CT as TransUNet distributes it (Chen et al. 2021, its README's data/Synapse):
 *
 *   DIR/train_npz/<case>_slice<k>.npz      arrays `image` (H × W, float, in [0, 1]) and `label` (H × W, 0..8)
 *   DIR/test_vol_h5/<case>.npy.h5          HDF5 datasets `image`, `label` (D × H × W), gzip or not
 *   DIR/lists_Synapse/{train,test_vol}.txt (or DIR/lists/lists_Synapse/…): the names, one a line;
 *                                          without lists, every file of the folders, sorted
 *
 * Slices are resized to `imageSize` (TransUNet: 224; bilinear images, nearest labels) and the test
 * split is evaluated per volume (Dice per case and organ pooled over the volume's slices, HD95 as
 * TransUNet's `calculate_metric_percase`), at that size rather than back at 512 × 512.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { TrainingData } from '../trainer/types';
import { readHdf5 } from './hdf5';
import { checkShape, imageValues, labelValues } from './labels';
import { type NdArray, readNpz } from './npy';
import { resizeSplit } from './resize';
import { DatasetError, type SegmentationDataset } from './types';

export const SYNAPSE_CLASSES = ['background', 'aorta', 'gallbladder', 'kidney (L)', 'kidney (R)', 'liver', 'pancreas', 'spleen', 'stomach'];
/** TransUNet's training and test size. */
export const SYNAPSE_IMAGE_SIZE = 224;

function listNames(dir: string, list: string, folder: string, suffix: string): string[] {
  for (const candidate of [path.join(dir, 'lists_Synapse', list), path.join(dir, 'lists', 'lists_Synapse', list)]) {
    if (fs.existsSync(candidate)) {
      return fs
        .readFileSync(candidate, 'utf8')
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    }
  }
  const where = path.join(dir, folder);
  if (!fs.existsSync(where)) throw new DatasetError(where, `is missing (a Synapse folder holds train_npz/, test_vol_h5/ and lists_Synapse/)`);
  return fs
    .readdirSync(where)
    .filter((f) => f.endsWith(suffix))
    .map((f) => f.slice(0, -suffix.length))
    .sort();
}

function member(arrays: Record<string, NdArray>, file: string, name: string): NdArray {
  const array = arrays[name];
  if (!array) throw new DatasetError(file, `has no array '${name}' (it holds: ${Object.keys(arrays).join(', ') || 'none'})`);
  return array;
}

/** Stacks slices of equal H × W into a split. */
function stack(images: Float32Array[], labels: (Uint8Array | Uint16Array)[], h: number, w: number): TrainingData {
  const n = images.length;
  const all = new Float32Array(n * h * w);
  const masks = new Uint8Array(n * h * w);
  images.forEach((im, i) => all.set(im, i * h * w));
  labels.forEach((lb, i) => masks.set(lb, i * h * w));
  return { images: all, masks, shape: [n, 1, h, w] };
}

function readTrainSlice(file: string): { image: Float32Array; label: Uint8Array | Uint16Array; h: number; w: number } {
  if (!fs.existsSync(file)) throw new DatasetError(file, 'is missing (named in lists_Synapse/train.txt)');
  const arrays = readNpz(file);
  const image = member(arrays, file, 'image');
  const label = member(arrays, file, 'label');
  checkShape(image, file, 'image', 2);
  if (label.shape.join() !== image.shape.join()) throw new DatasetError(file, `label has shape (${label.shape.join(', ')}), image (${image.shape.join(', ')})`);
  return { image: imageValues(image, file, 'image'), label: labelValues(label, file, SYNAPSE_CLASSES.length), h: image.shape[0], w: image.shape[1] };
}

async function readTrain(dir: string, size: number): Promise<TrainingData> {
  const names = listNames(dir, 'train.txt', 'train_npz', '.npz');
  if (names.length === 0) throw new DatasetError(path.join(dir, 'train_npz'), 'holds no slice');
  const parts = names.map((name) => {
    const slice = readTrainSlice(path.join(dir, 'train_npz', `${name}.npz`));
    return resizeSplit(stack([slice.image], [slice.label], slice.h, slice.w), size, size);
  });
  return concat(parts, size);
}

function concat(parts: readonly TrainingData[], size: number): TrainingData {
  const n = parts.reduce((a, p) => a + p.shape[0], 0);
  const images = new Float32Array(n * size * size);
  const masks = new Uint8Array(n * size * size);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * size * size);
    masks.set(p.masks, at * size * size);
    at += p.shape[0];
  }
  return { images, masks, shape: [n, 1, size, size] };
}

async function readTest(dir: string, size: number): Promise<{ data: TrainingData; cases: number[] }> {
  const names = listNames(dir, 'test_vol.txt', 'test_vol_h5', '.npy.h5');
  if (names.length === 0) throw new DatasetError(path.join(dir, 'test_vol_h5'), 'holds no volume');
  const parts: TrainingData[] = [];
  const cases: number[] = [];
  for (const name of names) {
    const file = path.join(dir, 'test_vol_h5', `${name}.npy.h5`);
    if (!fs.existsSync(file)) throw new DatasetError(file, 'is missing (named in lists_Synapse/test_vol.txt)');
    const { image, label } = await readHdf5(file, ['image', 'label']);
    checkShape(image, file, 'image', 3);
    if (label.shape.join() !== image.shape.join()) throw new DatasetError(file, `label has shape (${label.shape.join(', ')}), image (${image.shape.join(', ')})`);
    const [d, h, w] = image.shape;
    const volume: TrainingData = { images: imageValues(image, file, 'image'), masks: labelValues(label, file, SYNAPSE_CLASSES.length), shape: [d, 1, h, w] };
    parts.push(resizeSplit(volume, size, size));
    cases.push(d);
  }
  return { data: concat(parts, size), cases };
}

/** Reads a Synapse folder (TransUNet's layout), every slice resized to `imageSize` × `imageSize`. */
export async function loadSynapse(dir: string, imageSize = SYNAPSE_IMAGE_SIZE): Promise<SegmentationDataset> {
  if (!fs.existsSync(dir)) throw new DatasetError(dir, 'is missing');
  const train = await readTrain(dir, imageSize);
  const test = await readTest(dir, imageSize);
  return {
    spec: `synapse:${dir}`,
    classNames: SYNAPSE_CLASSES,
    train,
    test: test.data,
    testCases: test.cases,
    hd95: true,
    provenance: `Synapse multi-organ CT in TransUNet's layout from ${dir}`,
  };
}
