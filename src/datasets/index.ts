/**
 * Dataset readers behind `--dataset`: `fashion-seg` (built in). Every reader checks its files
 * before training starts and throws a {@link DatasetError} naming the file and the problem.
 */
import { loadFashionSeg } from './fashion-seg';
import type { SegmentationDataset } from './types';

export { DATASET_ERROR, DatasetError } from './types';
export type { SegmentationDataset } from './types';
export { FASHION_SEG_DIR, loadFashionSeg } from './fashion-seg';
export { firstImages, resizeSplit } from './resize';

/** The dataset kinds `--dataset` takes, each with the form of its spec. */
export const DATASET_KINDS: Readonly<Record<string, string>> = Object.freeze({
  'fashion-seg': 'fashion-seg',
});

function usage(): string {
  return Object.values(DATASET_KINDS).join(', ');
}

/** Reads the dataset a `--dataset` spec names. */
export function loadDataset(spec: string): SegmentationDataset {
  if (spec === 'fashion-seg') return loadFashionSeg();
  throw Object.assign(new RangeError(`Expected one of ${usage()} for --dataset but received ${JSON.stringify(spec)}`), {
    code: 'SEGLOSS_INVALID_ARGUMENT',
  });
}
