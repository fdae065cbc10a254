/**
 * Cityscapes (Cordts et al. 2016) fine annotations:
 *
 *   DIR/leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png     8-bit RGB
 *   DIR/gtFine/<split>/<city>/<stem>_gtFine_labelIds.png       8-bit labelIds
 *
 * `train` is the training split and `val` the test split (test's labels are not public). labelIds
 * map to the 19 trainIds by the official table (cityscapesScripts' labels.py); every other label
 * becomes 255, ignored by the objective and the metrics. Images become [3, H, W] floats in [0, 1];
 * images and masks are resized to `imageSize` × `imageSize` (the survey: 512; bilinear images,
 * nearest masks) as they are read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { TrainingData } from '../trainer/types';
import { readPng } from './png';
import { resizeSplit } from './resize';
import { DatasetError, type SegmentationDataset } from './types';

export const CITYSCAPES_CLASSES = [
  'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign', 'vegetation', 'terrain',
  'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle',
];
export const CITYSCAPES_IGNORE = 255;
/** The survey's size. */
export const CITYSCAPES_IMAGE_SIZE = 512;

/** labelId → trainId (cityscapesScripts, helpers/labels.py); 255 = ignored. */
export const LABEL_TO_TRAIN_ID: readonly number[] = (() => {
  const table = new Array<number>(256).fill(CITYSCAPES_IGNORE);
  const pairs: [number, number][] = [
    [7, 0], [8, 1], [11, 2], [12, 3], [13, 4], [17, 5], [19, 6], [20, 7], [21, 8], [22, 9],
    [23, 10], [24, 11], [25, 12], [26, 13], [27, 14], [28, 15], [31, 16], [32, 17], [33, 18],
  ];
  for (const [labelId, trainId] of pairs) table[labelId] = trainId;
  return table;
})();

function pairsOf(dir: string, split: string): { image: string; label: string }[] {
  const images = path.join(dir, 'leftImg8bit', split);
  if (!fs.existsSync(images)) throw new DatasetError(images, 'is missing (a Cityscapes folder holds leftImg8bit/ and gtFine/)');
  const pairs: { image: string; label: string }[] = [];
  for (const city of fs.readdirSync(images).sort()) {
    for (const file of fs.readdirSync(path.join(images, city)).sort()) {
      if (!file.endsWith('_leftImg8bit.png')) continue;
      const stem = file.slice(0, -'_leftImg8bit.png'.length);
      const label = path.join(dir, 'gtFine', split, city, `${stem}_gtFine_labelIds.png`);
      if (!fs.existsSync(label)) throw new DatasetError(label, `is missing (the labels of ${path.join(images, city, file)})`);
      pairs.push({ image: path.join(images, city, file), label });
    }
  }
  if (pairs.length === 0) throw new DatasetError(images, 'holds no *_leftImg8bit.png');
  return pairs;
}

async function readPair(pair: { image: string; label: string }, size: number): Promise<TrainingData> {
  const image = await readPng(pair.image);
  if (image.channels < 3 || image.depth !== 8 || image.palette) {
    throw new DatasetError(pair.image, `is a ${image.depth}-bit PNG with ${image.channels} channel(s)${image.palette ? ' (palette)' : ''}; expected 8-bit RGB`);
  }
  const label = await readPng(pair.label);
  if (label.channels !== 1 || label.depth !== 8) throw new DatasetError(pair.label, `is a ${label.depth}-bit PNG with ${label.channels} channels; expected 8-bit labelIds`);
  if (label.width !== image.width || label.height !== image.height) {
    throw new DatasetError(pair.label, `is ${label.width}×${label.height}; its image ${pair.image} is ${image.width}×${image.height}`);
  }
  const { width: w, height: h, channels } = image;
  const planes = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) planes[c * h * w + i] = image.data[i * channels + c] / 255;
  const masks = Uint8Array.from(label.data, (id) => LABEL_TO_TRAIN_ID[id]);
  return resizeSplit({ images: planes, masks, shape: [1, 3, h, w] }, size, size);
}

async function readSplit(dir: string, split: string, size: number): Promise<TrainingData> {
  const pairs = pairsOf(dir, split);
  const images = new Float32Array(pairs.length * 3 * size * size);
  const masks = new Uint8Array(pairs.length * size * size);
  for (let i = 0; i < pairs.length; i++) {
    const one = await readPair(pairs[i], size);
    images.set(one.images, i * 3 * size * size);
    masks.set(one.masks, i * size * size);
  }
  return { images, masks, shape: [pairs.length, 3, size, size] };
}

/** Reads Cityscapes' train (training) and val (test) splits at `imageSize` × `imageSize`. */
export async function loadCityscapes(dir: string, imageSize = CITYSCAPES_IMAGE_SIZE): Promise<SegmentationDataset> {
  if (!fs.existsSync(dir)) throw new DatasetError(dir, 'is missing');
  return {
    spec: `cityscapes:${dir}`,
    classNames: CITYSCAPES_CLASSES,
    ignoreIndex: CITYSCAPES_IGNORE,
    background: false,
    train: await readSplit(dir, 'train', imageSize),
    test: await readSplit(dir, 'val', imageSize),
    hd95: false,
    provenance: `Cityscapes fine annotations (labelIds → 19 trainIds) from ${dir}`,
  };
}
