/**
 * Dataset readers behind `--dataset`: `fashion-seg` (built in), `synapse:DIR` (TransUNet's
 * layout), `cityscapes:DIR`, `folder:DIR` (PNG or NIfTI images and masks). Every reader checks
 * its files before training starts and throws a {@link DatasetError} naming the file and the
 * problem. docs/datasets.md describes each layout.
 */
import { CITYSCAPES_IMAGE_SIZE, loadCityscapes } from './cityscapes';
import { loadFashionSeg } from './fashion-seg';
import { loadFolder } from './folder';
import { resizeSplit } from './resize';
import { SYNAPSE_IMAGE_SIZE, loadSynapse } from './synapse';
import type { SegmentationDataset } from './types';

export { DATASET_ERROR, DatasetError } from './types';
export type { SegmentationDataset } from './types';
export { FASHION_SEG_DIR, loadFashionSeg } from './fashion-seg';
export { CITYSCAPES_CLASSES, LABEL_TO_TRAIN_ID, loadCityscapes } from './cityscapes';
export { SYNAPSE_CLASSES, loadSynapse } from './synapse';
export { loadFolder } from './folder';
export { firstImages, resizeSplit } from './resize';

/** The forms `--dataset` takes. */
export const DATASET_SPECS = ['fashion-seg', 'synapse:DIR', 'cityscapes:DIR', 'folder:DIR'] as const;

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** H = W of every image (resized as read). Default: fashion-seg and folders their own size, Synapse 224, Cityscapes 512. */
  readonly imageSize?: number;
}

function specError(spec: string): RangeError {
  return Object.assign(new RangeError(`Expected one of ${DATASET_SPECS.join(', ')} for --dataset but received ${JSON.stringify(spec)}`), {
    code: 'SEGLOSS_INVALID_ARGUMENT',
  });
}

/** Reads the dataset a `--dataset` spec names (e.g. `fashion-seg`, `synapse:/data/Synapse`). */
export async function loadDataset(spec: string, options: LoadDatasetOptions = {}): Promise<SegmentationDataset> {
  const { imageSize } = options;
  if (spec === 'fashion-seg') {
    const data = loadFashionSeg();
    if (imageSize === undefined) return data;
    return { ...data, train: resizeSplit(data.train, imageSize, imageSize), test: resizeSplit(data.test, imageSize, imageSize) };
  }
  const colon = spec.indexOf(':');
  const kind = spec.slice(0, colon);
  const dir = spec.slice(colon + 1);
  if (colon < 0 || dir === '') throw specError(spec);
  if (kind === 'synapse') return loadSynapse(dir, imageSize ?? SYNAPSE_IMAGE_SIZE);
  if (kind === 'cityscapes') return loadCityscapes(dir, imageSize ?? CITYSCAPES_IMAGE_SIZE);
  if (kind === 'folder') return loadFolder(dir, imageSize);
  throw specError(spec);
}
