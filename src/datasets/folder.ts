/**
 * Image / mask folders:
 *
 *   DIR/train/images/<name>.<ext>   DIR/train/masks/<name>.<ext>     (same names)
 *   DIR/test/images/<name>.<ext>    DIR/test/masks/<name>.<ext>
 *   DIR/classes.txt                  optional: one class name a line (else class 0, class 1, …)
 *
 * <ext> is `.png` (8- or 16-bit; images grey or RGB(A), alpha dropped, scaled to [0, 1] by
 * 2^depth − 1; masks single-channel grey or palette indices) or `.nii` / `.nii.gz` (NIfTI
 * volumes; each z slice becomes an image, intensities scaled to [0, 1] per volume by its min and
 * max, and the test split is evaluated per volume). Without `imageSize` every image must have the
 * size of the first; with it, each is resized (bilinear images, nearest masks) as it is read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { TrainingData } from '../trainer/types';
import { labelValues } from './labels';
import { readNifti } from './nifti';
import { readPng } from './png';
import { resizeSplit } from './resize';
import { DatasetError, type SegmentationDataset } from './types';

const EXTENSIONS = ['.nii.gz', '.nii', '.png'];
/** The most classes a folder dataset may have. */
const MAX_CLASSES = 65536;

/** The name without its image extension (.png, .nii, .nii.gz), or null for another file. */
export function stemOf(file: string): { stem: string; ext: string } | null {
  const ext = EXTENSIONS.find((e) => file.endsWith(e));
  return ext ? { stem: file.slice(0, -ext.length), ext } : null;
}

/** Pairs of image and mask files of a split, by stem. */
function pairsOf(dir: string, split: string): { image: string; mask: string; ext: string }[] {
  const images = path.join(dir, split, 'images');
  const masks = path.join(dir, split, 'masks');
  for (const folder of [images, masks]) if (!fs.existsSync(folder)) throw new DatasetError(folder, 'is missing (a folder dataset holds train/ and test/, each with images/ and masks/)');
  const maskByStem = new Map<string, string>();
  for (const file of fs.readdirSync(masks)) {
    const s = stemOf(file);
    if (s) maskByStem.set(s.stem, path.join(masks, file));
  }
  const pairs: { image: string; mask: string; ext: string }[] = [];
  for (const file of fs.readdirSync(images).sort()) {
    const s = stemOf(file);
    if (!s) continue;
    const mask = maskByStem.get(s.stem);
    if (!mask) throw new DatasetError(path.join(images, file), `has no mask in ${masks} (a file named ${s.stem}.png, .nii or .nii.gz)`);
    pairs.push({ image: path.join(images, file), mask, ext: s.ext });
  }
  if (pairs.length === 0) throw new DatasetError(images, `holds no image (${EXTENSIONS.join(', ')})`);
  return pairs;
}

/** One image file as [n, C, H, W] floats in [0, 1] (n: slices of a volume, 1 for a PNG). */
export async function readImage(file: string, ext: string): Promise<{ images: Float32Array; shape: [number, number, number, number] }> {
  if (ext === '.png') {
    const png = await readPng(file);
    if (png.palette) throw new DatasetError(file, 'is a palette PNG; expected a grey or RGB image');
    const channels = png.channels >= 3 ? 3 : 1;
    const scale = 1 / (2 ** png.depth - 1);
    const { width: w, height: h } = png;
    const out = new Float32Array(channels * h * w);
    for (let i = 0; i < h * w; i++) for (let c = 0; c < channels; c++) out[c * h * w + i] = png.data[i * png.channels + c] * scale;
    return { images: out, shape: [1, channels, h, w] };
  }
  const volume = await readNifti(file);
  const [d, h, w] = volume.shape;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of volume.values) {
    lo = Math.min(lo, Number(v));
    hi = Math.max(hi, Number(v));
  }
  const scale = hi > lo ? 1 / (hi - lo) : 0;
  return { images: Float32Array.from(volume.values as ArrayLike<number>, (v) => (v - lo) * scale), shape: [d, 1, h, w] };
}

/** One mask file as raw integer labels [n, H, W] (checked against the classes later). */
async function readMask(file: string, ext: string): Promise<{ labels: ArrayLike<number>; shape: [number, number, number] }> {
  if (ext === '.png') {
    const png = await readPng(file);
    if (png.channels !== 1) throw new DatasetError(file, `has ${png.channels} channels; expected a single-channel or palette mask`);
    return { labels: png.data, shape: [1, png.height, png.width] };
  }
  const volume = await readNifti(file);
  return { labels: volume.values as ArrayLike<number>, shape: volume.shape as [number, number, number] };
}

interface ReadSplit {
  readonly data: TrainingData;
  readonly cases: number[];
  readonly maxLabel: number;
}

async function readSplit(dir: string, split: string, imageSize: number | undefined, numClasses: number | undefined): Promise<ReadSplit> {
  const parts: TrainingData[] = [];
  const cases: number[] = [];
  let maxLabel = 0;
  let size: [number, number, number] | null = null; // C, H, W
  for (const pair of pairsOf(dir, split)) {
    const image = await readImage(pair.image, pair.ext);
    const mask = await readMask(pair.mask, pair.ext);
    const [n, , h, w] = image.shape;
    if (mask.shape.join() !== [n, h, w].join()) {
      throw new DatasetError(pair.mask, `has shape (${mask.shape.join(', ')}); its image ${pair.image} has (${n}, ${h}, ${w})`);
    }
    const labels = labelValues({ values: Float64Array.from(mask.labels), shape: mask.shape }, pair.mask, numClasses ?? MAX_CLASSES);
    for (const v of labels) maxLabel = Math.max(maxLabel, v);
    const part = imageSize === undefined ? { images: image.images, masks: labels, shape: image.shape } : resizeSplit({ images: image.images, masks: labels, shape: image.shape }, imageSize, imageSize);
    const [, pc, ph, pw] = part.shape;
    size ??= [pc, ph, pw];
    if (size.join() !== [pc, ph, pw].join()) {
      throw new DatasetError(pair.image, `has ${pc} channel(s) of ${ph}×${pw}; the first image has ${size[0]} of ${size[1]}×${size[2]} (give --image-size to resize)`);
    }
    parts.push(part);
    cases.push(n);
  }
  return { data: concatParts(parts, maxLabel), cases, maxLabel };
}

/** The parts stacked; masks uint8 when every label is below 256, else uint16. */
function concatParts(parts: readonly TrainingData[], maxLabel: number): TrainingData {
  const [, c, h, w] = parts[0].shape;
  const n = parts.reduce((a, p) => a + p.shape[0], 0);
  const wide = maxLabel > 255;
  const images = new Float32Array(n * c * h * w);
  const masks = wide ? new Uint16Array(n * h * w) : new Uint8Array(n * h * w);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * c * h * w);
    masks.set(p.masks, at * h * w);
    at += p.shape[0];
  }
  return { images, masks, shape: [n, c, h, w] };
}

function readClassNames(dir: string): string[] | undefined {
  const file = path.join(dir, 'classes.txt');
  if (!fs.existsSync(file)) return undefined;
  const names = fs.readFileSync(file, 'utf8').split('\n').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length < 2) throw new DatasetError(file, `names ${names.length} class(es); expected at least 2`);
  return names;
}

/** Reads an image / mask folder (PNG or NIfTI). */
export async function loadFolder(dir: string, imageSize?: number): Promise<SegmentationDataset> {
  if (!fs.existsSync(dir)) throw new DatasetError(dir, 'is missing');
  const named = readClassNames(dir);
  const train = await readSplit(dir, 'train', imageSize, named?.length);
  const test = await readSplit(dir, 'test', imageSize, named?.length);
  if (train.data.shape.slice(1).join() !== test.data.shape.slice(1).join()) {
    throw new DatasetError(path.join(dir, 'test', 'images'), `holds images of [${test.data.shape.slice(1).join(', ')}]; train/ holds [${train.data.shape.slice(1).join(', ')}]`);
  }
  const count = named?.length ?? Math.max(2, Math.max(train.maxLabel, test.maxLabel) + 1);
  const volumes = train.cases.some((n) => n > 1) || test.cases.some((n) => n > 1);
  return {
    spec: `folder:${dir}`,
    classNames: named ?? Array.from({ length: count }, (_, c) => (c === 0 ? 'background' : `class ${c}`)),
    train: train.data,
    test: test.data,
    ...(volumes ? { testCases: test.cases } : {}),
    hd95: true,
    provenance: `image / mask folder ${dir}`,
  };
}
