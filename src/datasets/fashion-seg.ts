/**
 * The built-in `fashion-seg` dataset (datasets/fashion-seg/ in the package): 64×64 canvases of 1–4
 * Fashion-MNIST garments (small: 14–22 px, large: 30–46 px), each pixel labelled with its
 * garment's class + 1 or 0 (background); 4000 train canvases from Fashion-MNIST's train set, 500
 * test canvases from its test set. Built by scripts/build-fashion-seg.js from the Debian package
 * `dataset-fashion-mnist` (MIT licence, Zalando SE); provenance in datasets/fashion-seg/README.md.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';

import { packageRoot } from '../native/core';
import type { TrainingData } from '../trainer/types';
import { DatasetError, type SegmentationDataset } from './types';

/** The folder holding the packaged files. */
export const FASHION_SEG_DIR = path.join(packageRoot, 'datasets', 'fashion-seg');
const FORMAT = 'segloss-fashion-seg/1';

interface StoredArray {
  readonly file: string;
  readonly sha256: string;
}

interface FashionSegMeta {
  readonly format: string;
  readonly shape: readonly [number, number];
  readonly classNames: readonly string[];
  readonly splits: Readonly<Record<'train' | 'test', { readonly count: number; readonly images: StoredArray; readonly masks: StoredArray }>>;
}

function readMeta(dir: string): FashionSegMeta {
  const file = path.join(dir, 'meta.json');
  let meta: FashionSegMeta;
  try {
    meta = JSON.parse(fs.readFileSync(file, 'utf8')) as FashionSegMeta;
  } catch (error) {
    throw new DatasetError(file, `cannot be read as JSON (${(error as Error).message})`);
  }
  if (meta.format !== FORMAT) throw new DatasetError(file, `format is ${JSON.stringify(meta.format)}, expected '${FORMAT}'`);
  return meta;
}

/** One gzip array, checked against its length and SHA-256 in meta.json. */
function readArray(dir: string, stored: StoredArray, length: number): Uint8Array {
  const file = path.join(dir, stored.file);
  let bytes: Buffer;
  try {
    bytes = gunzipSync(fs.readFileSync(file));
  } catch (error) {
    throw new DatasetError(file, `cannot be read as gzip (${(error as Error).message})`);
  }
  if (bytes.length !== length) throw new DatasetError(file, `holds ${bytes.length} bytes, expected ${length}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== stored.sha256) throw new DatasetError(file, `SHA-256 ${sha256} differs from meta.json's ${stored.sha256}`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Pixel values 0..255 to floats in [0, 1]. */
function toUnitFloats(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

function readSplit(dir: string, meta: FashionSegMeta, split: 'train' | 'test'): TrainingData {
  const { count, images, masks } = meta.splits[split];
  const [h, w] = meta.shape;
  return {
    images: toUnitFloats(readArray(dir, images, count * h * w)),
    masks: readArray(dir, masks, count * h * w),
    shape: [count, 1, h, w],
  };
}

/** Reads `fashion-seg` (11 classes: background + Fashion-MNIST's 10), checking every file. */
export function loadFashionSeg(dir: string = FASHION_SEG_DIR): SegmentationDataset {
  const meta = readMeta(dir);
  return {
    spec: 'fashion-seg',
    classNames: meta.classNames,
    train: readSplit(dir, meta, 'train'),
    test: readSplit(dir, meta, 'test'),
    hd95: true,
    provenance: 'fashion-seg: 64×64 canvases of Fashion-MNIST garments (Zalando SE, MIT), built by scripts/build-fashion-seg.js from Debian dataset-fashion-mnist',
  };
}
