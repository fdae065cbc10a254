/**
 * Public types of the training API (`Trainer`). Each default is stated here for the reader; the
 * value used is written once, in src/trainer/config.ts.
 */
import type { TorchDevice } from '../torch/index';
import type { LossSpec, TargetArray } from '../types';

/**
 * UNet (Ronneberger et al. 2015) in milesial/Pytorch-UNet's layout: double 3×3 conv (no bias) +
 * BatchNorm + ReLU, max-pool down, transposed conv up padded to the skip, skip concatenation,
 * 1×1 head. Its state-dict keys are those of the PyTorch module in python/unet.py.
 * With baseChannels 64, 1 → 9 classes: 31,037,001 parameters.
 */
export interface UNetModelOptions {
  readonly name: 'unet';
  /** Cin, the image channels. Default `1`. */
  readonly inChannels?: number;
  /** K, the classes (output channels), 2 ≤ K ≤ 65536. Default `2`. */
  readonly numClasses?: number;
  /** Channels of the first level (then 2×, 4×, 8×, 16×). Default `64`. */
  readonly baseChannels?: number;
  /** Bilinear ×2 upsampling instead of transposed convolutions. Default `false`. */
  readonly bilinear?: boolean;
}

/** The ViT sizes of TransUNet: `'b16'` (hidden 768, 12 layers, 12 heads, MLP 3072, as published), `'s16'` (384, 12, 6, 1536), `'ti16'` (192, 12, 3, 768). */
export type VitPreset = 'b16' | 's16' | 'ti16';

/**
 * TransUNet (Chen et al. 2021), R50-ViT as published: ResNet-50 v2 root and 3 stages (3, 4, 9
 * units, weight-standardised convs, GroupNorm), 1×1 patch embedding of the 1/16 map, a ViT
 * encoder, the cascaded upsampler (256, 128, 64, 16 with 3 skips) and a 3×3 head; a 1-channel
 * image is repeated to 3. State-dict keys are those of python/transunet.py (the reference's).
 * With imageSize 224, 9 classes and 'b16': 105,277,081 parameters.
 */
export interface TransUNetModelOptions {
  readonly name: 'transunet';
  /** 1 (repeated to 3) or 3. Default `1`. */
  readonly inChannels?: number;
  /** K, 2 ≤ K ≤ 65536. Default `2`. */
  readonly numClasses?: number;
  /** H = W of every image, a multiple of 16 (it sizes the position embeddings). Default `224`. */
  readonly imageSize?: number;
  /** Default `'b16'`. */
  readonly vitPreset?: VitPreset;
  /** Override the preset's transformer blocks. */
  readonly layers?: number;
  /** Override the preset's width (a multiple of `heads`). */
  readonly hidden?: number;
  /** Override the preset's attention heads. */
  readonly heads?: number;
  /** Override the preset's MLP width. */
  readonly mlp?: number;
  /** Dropout after the embeddings and in the MLPs (masks drawn from the seeded generator). Default `0.1`. */
  readonly dropout?: number;
}

/** The models `Trainer.create` builds. */
export type ModelOptions = UNetModelOptions | TransUNetModelOptions;

/** How the learning rate moves: `'poly'`: lr·(1 − t/T)^power (TransUNet); `'constant'`. */
export type LrSchedule = 'poly' | 'constant';

/** Options shared by the optimizers: the schedule. */
export interface ScheduleOptions {
  /** Default `'poly'` for SGD, `'constant'` for AdamW. */
  readonly schedule?: LrSchedule;
  /** Poly exponent. Default `0.9`. */
  readonly power?: number;
  /**
   * T of the poly schedule. Default: each `fit` call's `epochs` × steps per epoch. Set it when a
   * run is split across `fit` calls (or resumed from a checkpoint with other `epochs`) and the
   * schedule must be that of one run.
   */
  readonly totalSteps?: number;
}

/** torch.optim.SGD (dampening 0). */
export interface SgdOptions extends ScheduleOptions {
  readonly name: 'sgd';
  /** Default `0.01`. */
  readonly lr?: number;
  /** Default `0.9`. */
  readonly momentum?: number;
  /** L2 penalty added to the gradient. Default `1e-4`. */
  readonly weightDecay?: number;
  /** Default `false`. */
  readonly nesterov?: boolean;
}

/** torch.optim.AdamW (amsgrad off). */
export interface AdamWOptions extends ScheduleOptions {
  readonly name: 'adamw';
  /** Default `1e-3`. */
  readonly lr?: number;
  /** [β1, β2], each in [0, 1). Default `[0.9, 0.999]`. */
  readonly betas?: readonly [number, number];
  /** Default `1e-8`. */
  readonly eps?: number;
  /** Decoupled weight decay. Default `1e-2`. */
  readonly weightDecay?: number;
}

export type OptimizerOptions = SgdOptions | AdamWOptions;

/** What `Trainer.create` takes. */
export interface TrainerOptions {
  readonly model: ModelOptions;
  /**
   * The objective: a loss id or terms `[{ loss, weight?, options? }]`, as `computeLoss` takes them.
   * Default `[{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }]` (the survey's).
   * At most one term may be a loss with its own entry point, which the trainer feeds from the
   * model: `conditional-boundary` (the UNet's features and 1×1 head; needs another term, e.g.
   * cross-entropy), `inverseform` (the model gets a C + 1-th output channel, the edge logit; other
   * terms see the first C) or `boundary-aware` (C·K output channels; the whole objective, classes
   * from its decoder). docs/training.md, "Losses with their own entry points".
   */
  readonly objective?: LossSpec;
  /** Label whose pixels count in neither the objective nor the metrics. Default none. */
  readonly ignoreIndex?: number;
  /** Default `{ name: 'sgd' }` (lr 0.01, momentum 0.9, weight decay 1e-4, poly 0.9). */
  readonly optimizer?: OptimizerOptions;
  /** Default `'cpu'`. */
  readonly device?: TorchDevice;
  /** Seeds the initial weights and the epoch order (same seed ⇒ bit-identical weights on the CPU). Default `0`. */
  readonly seed?: number;
  /**
   * `'bfloat16'`: the forward pass runs under autocast to bfloat16 (CPU or CUDA; parameters and
   * optimizer state stay float32, the logits are cast back to float32 before the objective).
   * Needs libtorch ≥ 2.4. Default `'float32'`.
   */
  readonly precision?: Precision;
  /** Channels-last (NHWC) parameters and inputs. Default `false`. */
  readonly channelsLast?: boolean;
  /**
   * CPU threads of this trainer's jobs: libtorch's intra-op threads (OpenMP, MKL) on the trainer's
   * thread and the loss engines' workers there; other trainers and loss calls keep their own.
   * A run setting, not recorded in checkpoints. Default: libtorch's (`OMP_NUM_THREADS`, else the
   * cores; the engines at most `SEGLOSS_NUM_THREADS`). Small models train faster on fewer threads
   * (docs/training.md, "Threads").
   */
  readonly threads?: number;
}

/** The arithmetic of the forward pass. */
export type Precision = 'float32' | 'bfloat16';

/** Images and label masks. */
export interface TrainingData {
  /** [N, Cin, H, W] images, NCHW, finite. */
  readonly images: Float32Array;
  /** [N, H, W] labels in [0, K) or the ignore index. */
  readonly masks: TargetArray;
  /** `[N, Cin, H, W]`; Cin the model's; UNet: H and W ≥ 16; TransUNet: H = W = imageSize. */
  readonly shape: readonly [number, number, number, number];
}

/**
 * Metrics on a data set. Dice per class is the mean over the cases in which the class occurs
 * (prediction or label; TransUNet's per-case policy), a case being an image or, with `cases`, a
 * volume of consecutive slices whose counts are pooled; IoU per class is pooled over the set
 * (Cityscapes). A class that never occurs gets NaN and is left out of the means.
 */
export interface Evaluation {
  readonly meanDice: number;
  /** [K], index = class, background included. */
  readonly perClassDice: readonly number[];
  readonly meanIoU: number;
  /** [K]. */
  readonly perClassIoU: readonly number[];
  /** The objective's value, mean over the images. */
  readonly loss: number;
  /** Number of images evaluated. */
  readonly images: number;
  /** Number of cases (images, or the volumes of `cases`). */
  readonly cases: number;
  /**
   * With `hd95: true`: TransUNet's reported HD95, the mean over the foreground classes of
   * {@link perClassHd95}.
   */
  readonly hd95?: number;
  /**
   * With `hd95: true`: per class (index = class; NaN for the background), the mean over cases of
   * the 95th-percentile Hausdorff distance (pixels), each case computed as TransUNet's
   * `calculate_metric_percase` (`metrics.evaluateVolume`, its empty-mask policy: 0 when the
   * prediction or the target is empty).
   */
  readonly perClassHd95?: readonly number[];
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Default `8`. */
  readonly batchSize?: number;
  /**
   * The number of consecutive slices in each volume (Σ = N): Dice is then per volume, as
   * TransUNet's test on Synapse. Default: each image is a case.
   */
  readonly cases?: readonly number[];
  /**
   * Also compute HD95 per case and class (natively, on the trainer's thread, from each case's
   * predicted and target label maps; TransUNet's policy). Default `false`.
   */
  readonly hd95?: boolean;
}

/** After each step. `epoch`: the epoch's index (0-based); `step`: the global step's index (0-based). */
export interface StepEvent {
  readonly type: 'step';
  readonly epoch: number;
  readonly step: number;
  /** The objective Σ weight · term. */
  readonly loss: number;
  /** Each term's own (unweighted) value, in objective order. */
  readonly terms: readonly number[];
  /** The learning rate of this step. */
  readonly lr: number;
  readonly imagesPerSecond: number;
  /** `true` when `nonFinite: 'skip'` dropped this step's update (its loss or terms are not finite). */
  readonly skipped?: boolean;
  /**
   * robust-t's learned θ (`nuParameter`) after this step, when the objective has robust-t terms:
   * the trainer optimises it in its own parameter group (the optimizer and schedule of the model,
   * weight decay 0) and checkpoints it with its optimizer state.
   */
  readonly nuParameter?: number;
}

/** After each epoch: its mean loss over images, and the validation metrics (null without validation). */
export interface EpochEvent {
  readonly type: 'epoch';
  readonly epoch: number;
  readonly loss: number;
  readonly metrics: Evaluation | null;
}

/** After a checkpoint is written (atomically: it is complete when this arrives). */
export interface CheckpointEvent {
  readonly type: 'checkpoint';
  readonly path: string;
}

export type ProgressEvent = StepEvent | EpochEvent | CheckpointEvent;

/** Batch augmentations `fit` runs natively. */
export type Augmentation = 'none' | 'rot-flip-rotate' | 'scale-crop-flip';

/** When `fit` writes checkpoints (and once more when aborted). */
export interface CheckpointOptions {
  /** The file (overwritten atomically each time). */
  readonly path: string;
  /** Every this many global steps. Default: never by steps. */
  readonly everySteps?: number;
  /** Every this many epochs. Default `1` when `everySteps` is not given, else never by epochs. */
  readonly everyEpochs?: number;
}

export interface FitOptions {
  /** Train until this many epochs are complete (a trainer that has done e epochs does `epochs − e` more). */
  readonly epochs: number;
  /** Default `8`; an epoch's last batch may be smaller. */
  readonly batchSize?: number;
  /**
   * Native augmentation of each training batch. `'rot-flip-rotate'` is TransUNet's: per image,
   * with probability ½ a random rot90 and a random-axis flip, else with probability ½ a rotation
   * by a random integer angle in [−20°, 20°] (nearest neighbour, zeros outside).
   * `'scale-crop-flip'` is the street-scene recipe: a random scale in [0.5, 2] (bilinear images,
   * nearest labels), a random crop back to H × W (padded with 0 and the ignoreIndex, or 0, where
   * smaller) and a horizontal flip with probability ½. Drawn from the seed, the epoch and the
   * position, so resumes stay bit-identical. Default `'none'`.
   */
  readonly augment?: Augmentation;
  /** Evaluated after each epoch; the metrics come with the epoch event. */
  readonly validation?: TrainingData;
  /** How `validation` is evaluated: what `evaluate` takes (`batchSize` default: fit's `batchSize`). */
  readonly validationOptions?: EvaluateOptions;
  /** Stops at the next step boundary (after writing a checkpoint when `checkpoint` is set); fit rejects with an AbortError. */
  readonly signal?: AbortSignal;
  /** Called on the main thread for every event, in order. An error it throws stops the fit, which rejects with it. */
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly checkpoint?: CheckpointOptions;
  /**
   * When a step's logits, a term of its objective or its gradient is NaN or ±∞ (checked before the
   * update, so the weights never take it): `'stop'` rejects with an Error of code
   * `SEGLOSS_NON_FINITE` naming the step, the epoch and what was not finite (the trainer keeps the
   * weights from before that step and stays usable); `'skip'` drops that step's update, reports it
   * with `skipped: true` and goes on (skipped steps count in the schedule, not in the epoch loss).
   * Default `'stop'`.
   */
  readonly nonFinite?: NonFinitePolicy;
}

/** What fit does with a step whose logits, loss or gradient is not finite. */
export type NonFinitePolicy = 'stop' | 'skip';

/** What `fit` resolves to. */
export interface FitResult {
  /** Epochs completed. */
  readonly epoch: number;
  /** Steps completed. */
  readonly step: number;
  /** The last step's loss (NaN when no step ran). */
  readonly loss: number;
}
