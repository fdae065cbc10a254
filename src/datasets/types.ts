/** What every dataset reader returns: a train and a test split as the Trainer takes them. */
import type { TrainingData } from '../trainer/types';

/** A segmentation dataset in memory: images [N, Cin, H, W] float32, masks [N, H, W]. */
export interface SegmentationDataset {
  /** The `--dataset` spec it was read from (e.g. `fashion-seg`, `synapse:/data/Synapse`). */
  readonly spec: string;
  /** Index = class; class 0 is the background. */
  readonly classNames: readonly string[];
  /** Whether class 0 is a background (the foreground mean leaves it out). Default true. */
  readonly background?: boolean;
  /** Label whose pixels count nowhere (Cityscapes: 255). */
  readonly ignoreIndex?: number;
  readonly train: TrainingData;
  readonly test: TrainingData;
  /** Slices per test volume (Σ = test images) when the test split is evaluated per volume (Synapse). */
  readonly testCases?: readonly number[];
  /** Whether HD95 is reported (the survey reports it for Synapse; here also for fashion-seg). */
  readonly hd95: boolean;
  /** One line on where the data came from, for the summary and the report. */
  readonly provenance: string;
}

/** `code` of every {@link DatasetError}. */
export const DATASET_ERROR = 'SEGLOSS_DATASET';

/** A file of a dataset that is missing, corrupt or not what the reader expects. */
export class DatasetError extends Error {
  readonly code = DATASET_ERROR;
  /** The file (or folder) at fault. */
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'DatasetError';
    this.file = file;
  }
}
