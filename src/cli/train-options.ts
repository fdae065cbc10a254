/**
 * `segloss train`'s options: the defaults (written once, here), the parsing of `--model` and
 * `--loss` specs, and their translation into `Trainer.create` / `fit` options. Every bad value is
 * a {@link UsageError} naming the option, what was expected and what was received, raised before
 * any data is read or any native code runs.
 */
import { lossNames } from '../losses/registry';
import type { FitOptions, ModelOptions, OptimizerOptions, TrainerOptions, VitPreset } from '../trainer/types';
import type { TorchDevice } from '../torch/index';
import type { LossSpec, LossTerm } from '../types';

/** A command-line mistake: printed as `segloss <command>: <message>`, exit code 2. */
export class UsageError extends Error {
  readonly code = 'SEGLOSS_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The defaults of `segloss train` with no arguments: a UNet of base width 8 (486,499 parameters)
 * on fashion-seg with the survey's 0.5·Dice + 0.5·CE, AdamW 3e-3 with the poly schedule, batch 8,
 * 14 epochs: sized to finish within 10 minutes on an idle 2-core CPU (56,000 training images at
 * the ~110 images/s measured there). The Dice it reaches: README, "Quick start".
 */
export const TRAIN_DEFAULTS = Object.freeze({
  dataset: 'fashion-seg',
  model: 'unet:8',
  loss: 'dice',
  ceWeight: 0.5,
  epochs: 20,
  batchSize: 8,
  optimizer: 'adamw' as 'sgd' | 'adamw',
  lr: { sgd: 0.01, adamw: 3e-3 },
  device: 'cpu' as TorchDevice,
  seed: 0,
  augment: 'none' as NonNullable<FitOptions['augment']>,
  threads: 'auto' as number | 'auto',
});

/**
 * The largest UNet BASE that `--threads auto` trains on one CPU thread, so that the default run
 * (UNet 8) gives the same weights and Dice on every machine, whatever its cores: the CPU run is
 * bit-identical for a thread count, and different counts round differently (20 epochs of the
 * default run: pooled mean Dice 0.8152 on one thread, 0.7901 on two). Two threads train it faster
 * on 2 cores (UNet 8 at 64²: 217 images/s against 153; `--threads 2`).
 */
const ONE_THREAD_UNET_BASE = 8;

/** What the command line asked for, checked, every default filled in (written to config.json). */
export interface TrainSettings {
  readonly dataset: string;
  readonly model: string;
  readonly loss: string;
  readonly ceWeight: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: 'sgd' | 'adamw';
  readonly lr: number;
  /** H = W the images are resized to; null: the dataset's own size. */
  readonly imageSize: number | null;
  readonly device: TorchDevice;
  readonly seed: number;
  readonly augment: NonNullable<FitOptions['augment']>;
  /** The trainer's CPU threads (`Trainer.create`'s `threads`); 'auto': trainerThreadsOf. */
  readonly threads: number | 'auto';
  /** Train on the first N training images only; null: all. */
  readonly trainLimit: number | null;
  /** Evaluate on the first N test images only; null: all. */
  readonly testLimit: number | null;
}

/** The raw strings commander hands over (undefined: not given). */
export interface RawTrainOptions {
  readonly dataset?: string;
  readonly model?: string;
  readonly loss?: string;
  readonly ceWeight?: string;
  readonly epochs?: string;
  readonly batchSize?: string;
  readonly lr?: string;
  readonly optimizer?: string;
  readonly imageSize?: string;
  readonly device?: string;
  readonly seed?: string;
  readonly augment?: string;
  readonly threads?: string;
  readonly trainLimit?: string;
  readonly testLimit?: string;
}

function received(value: string): string {
  return JSON.stringify(value);
}

/** An integer option in [min, max]. */
export function parseInteger(value: string, option: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const x = Number(value);
  if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(x) || x < min || x > max) {
    throw new UsageError(`${option}: expected an integer in [${min}, ${max}] but received ${received(value)}`);
  }
  return x;
}

/** A finite number option accepted by `ok`. */
export function parseNumber(value: string, option: string, what: string, ok: (x: number) => boolean): number {
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x) || !ok(x)) throw new UsageError(`${option}: expected ${what} but received ${received(value)}`);
  return x;
}

function parseChoice<T extends string>(value: string, option: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${option}: expected one of ${choices.join(', ')} but received ${received(value)}`);
  }
  return value as T;
}

function parseDevice(value: string): TorchDevice {
  if (value === 'cpu' || value === 'cuda' || /^cuda:\d+$/.test(value)) return value as TorchDevice;
  throw new UsageError(`--device: expected cpu, cuda or cuda:N but received ${received(value)}`);
}

const VIT_PRESETS: readonly VitPreset[] = ['b16', 's16', 'ti16'];

/**
 * `--model`: `unet[:BASE]` (BASE the first level's channels, default 8 here) or
 * `transunet[:b16|s16|ti16]` (default b16, as published).
 */
export function parseModel(spec: string, inChannels: number, numClasses: number, imageSize: number): ModelOptions {
  const [name, arg, extra] = spec.split(':');
  if (extra === undefined && name === 'unet') {
    const baseChannels = arg === undefined ? 8 : parseInteger(arg, '--model unet:BASE', 1, 1024);
    return { name: 'unet', inChannels, numClasses, baseChannels };
  }
  if (extra === undefined && name === 'transunet') {
    const vitPreset = arg === undefined ? 'b16' : parseChoice(arg, '--model transunet:PRESET', VIT_PRESETS);
    if (imageSize % 16 !== 0) throw new UsageError(`--model transunet: the image size must be a multiple of 16 but is ${imageSize} (give --image-size)`);
    return { name: 'transunet', inChannels, numClasses, imageSize, vitPreset };
  }
  throw new UsageError(`--model: expected unet[:BASE] or transunet[:b16|s16|ti16] but received ${received(spec)}`);
}

// One option value of `--loss ID:k=v`: a number, true/false, numbers separated by '/' (an array), else the string.
function parseLossValue(value: string): unknown {
  if (value === 'true' || value === 'false') return value === 'true';
  if (value !== '' && Number.isFinite(Number(value))) return Number(value);
  if (value.includes('/') && value.split('/').every((v) => v !== '' && Number.isFinite(Number(v)))) return value.split('/').map(Number);
  return value;
}

/** `--loss ID[:k=v,…]`: the loss id and its options (values: numbers, true/false, a/b/c arrays, strings). */
export function parseLoss(spec: string): { loss: string; options: Record<string, unknown> } {
  const colon = spec.indexOf(':');
  const loss = colon < 0 ? spec : spec.slice(0, colon);
  if (!(lossNames as readonly string[]).includes(loss)) {
    throw new UsageError(`--loss: expected one of ${lossNames.join(', ')} (optionally :k=v,…) but received ${received(spec)}`);
  }
  const options: Record<string, unknown> = {};
  if (colon >= 0) {
    for (const pair of spec.slice(colon + 1).split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--loss: expected k=v after '${loss}:' but received ${received(pair)}`);
      options[pair.slice(0, eq)] = parseLossValue(pair.slice(eq + 1));
    }
  }
  return { loss, options };
}

/**
 * The losses that are a whole objective by themselves, whose `--ce-weight` defaults to 0:
 * inverseform holds its own cross-entropy (segmentationWeight), and boundary-aware's model outputs
 * distance bins, no segmentation logits for a cross-entropy.
 */
const WHOLE_OBJECTIVE_LOSSES: readonly string[] = ['inverseform', 'boundary-aware'];

/** `--ce-weight`'s default for a loss: 0 for a whole-objective loss, else the survey's 0.5. */
function defaultCeWeight(loss: string): number {
  return WHOLE_OBJECTIVE_LOSSES.includes(loss) ? 0 : TRAIN_DEFAULTS.ceWeight;
}

/** The combinations of `--loss`, `--ce-weight` and `--model` the trainer refuses, as usage errors. */
function checkLossCombination(loss: string, ceWeight: number, model: string): void {
  if (loss === 'boundary-aware' && ceWeight > 0) {
    throw new UsageError('--ce-weight: boundary-aware is the whole objective (its model outputs distance bins, no logits for a cross-entropy); give 0 or leave it out');
  }
  if (loss === 'conditional-boundary' && ceWeight === 0) {
    throw new UsageError('--ce-weight: conditional-boundary reaches the logits only through their argmax and needs a cross-entropy beside it; give a weight in (0, 1]');
  }
  if (loss === 'conditional-boundary' && !model.startsWith('unet')) {
    throw new UsageError("--model: conditional-boundary reads the model's features and 1×1 head, which unet has (transunet's head is 3×3)");
  }
}

/** The objective: (1 − ceWeight)·loss + ceWeight·cross-entropy (cross-entropy alone when the loss is CE). */
export function objectiveOf(lossSpec: string, ceWeight: number): LossSpec {
  const { loss, options } = parseLoss(lossSpec);
  // The loss id was checked against lossNames and its options are checked by Trainer.create.
  const term = (weight: number): LossTerm => (Object.keys(options).length ? { loss, weight, options } : { loss, weight }) as LossTerm;
  if (loss === 'cross-entropy' || ceWeight === 0) return [term(1)];
  if (ceWeight === 1) return [{ loss: 'cross-entropy', weight: 1 }];
  return [term(1 - ceWeight), { loss: 'cross-entropy', weight: ceWeight }];
}

function optional<T>(value: string | undefined, parse: (v: string) => T): T | null {
  return value === undefined ? null : parse(value);
}

/** Checks every option (before anything is read or built) and fills in the defaults. */
export function resolveTrainSettings(raw: RawTrainOptions): TrainSettings {
  const optimizer = raw.optimizer === undefined ? TRAIN_DEFAULTS.optimizer : parseChoice(raw.optimizer, '--optimizer', ['sgd', 'adamw'] as const);
  const loss = raw.loss ?? TRAIN_DEFAULTS.loss;
  const settings: TrainSettings = {
    dataset: raw.dataset ?? TRAIN_DEFAULTS.dataset,
    model: raw.model ?? TRAIN_DEFAULTS.model,
    loss,
    ceWeight: raw.ceWeight === undefined
      ? defaultCeWeight(parseLoss(loss).loss)
      : parseNumber(raw.ceWeight, '--ce-weight', 'a number in [0, 1]', (x) => x >= 0 && x <= 1),
    epochs: raw.epochs === undefined ? TRAIN_DEFAULTS.epochs : parseInteger(raw.epochs, '--epochs', 1, 100_000),
    batchSize: raw.batchSize === undefined ? TRAIN_DEFAULTS.batchSize : parseInteger(raw.batchSize, '--batch-size', 1, 1 << 16),
    optimizer,
    lr: raw.lr === undefined ? TRAIN_DEFAULTS.lr[optimizer] : parseNumber(raw.lr, '--lr', 'a finite number > 0', (x) => x > 0),
    imageSize: optional(raw.imageSize, (v) => parseInteger(v, '--image-size', 16, 8192)),
    device: raw.device === undefined ? TRAIN_DEFAULTS.device : parseDevice(raw.device),
    seed: raw.seed === undefined ? TRAIN_DEFAULTS.seed : parseInteger(raw.seed, '--seed', 0, 2 ** 32 - 1),
    augment: raw.augment === undefined ? TRAIN_DEFAULTS.augment : parseChoice(raw.augment, '--augment', ['none', 'rot-flip-rotate', 'scale-crop-flip'] as const),
    threads: raw.threads === undefined || raw.threads.trim() === 'auto' ? TRAIN_DEFAULTS.threads : parseInteger(raw.threads, '--threads', 1, 1024),
    trainLimit: optional(raw.trainLimit, (v) => parseInteger(v, '--train-limit', 1)),
    testLimit: optional(raw.testLimit, (v) => parseInteger(v, '--test-limit', 1)),
  };
  parseModel(settings.model, 1, 2, settings.imageSize ?? 224);
  checkLossCombination(parseLoss(settings.loss).loss, settings.ceWeight, settings.model);
  return settings;
}

/**
 * The trainer's `threads` for these settings: the number given, or for 'auto' one thread for a
 * UNet of BASE ≤ ONE_THREAD_UNET_BASE on the CPU, else libtorch's default (undefined). A run
 * folder written before `threads` existed reads as 'auto'.
 */
export function trainerThreadsOf(s: Pick<TrainSettings, 'threads' | 'model' | 'device'>): number | undefined {
  const threads = s.threads ?? 'auto';
  if (threads !== 'auto') return threads;
  const model = parseModel(s.model, 1, 2, 224);  // only its name and width matter here
  const smallUnet = model.name === 'unet' && model.baseChannels !== undefined && model.baseChannels <= ONE_THREAD_UNET_BASE;
  return s.device === 'cpu' && smallUnet ? 1 : undefined;
}

/** `Trainer.create`'s options for these settings on data of `inChannels` channels, `classes` classes, size H = W = `imageSize`. */
export function trainerOptionsOf(
  s: TrainSettings,
  data: { inChannels: number; numClasses: number; imageSize: number; ignoreIndex?: number; stepsPerEpoch: number },
): TrainerOptions {
  const optimizer: OptimizerOptions = { name: s.optimizer, lr: s.lr, schedule: 'poly', totalSteps: s.epochs * data.stepsPerEpoch };
  return {
    model: parseModel(s.model, data.inChannels, data.numClasses, data.imageSize),
    objective: objectiveOf(s.loss, s.ceWeight),
    ...(data.ignoreIndex === undefined ? {} : { ignoreIndex: data.ignoreIndex }),
    optimizer,
    device: s.device,
    seed: s.seed,
    ...optionalThreads(s),
  };
}

/** `{ threads }` for Trainer.create / Trainer.load, or nothing for libtorch's default. */
export function optionalThreads(s: Pick<TrainSettings, 'threads' | 'model' | 'device'>): { threads?: number } {
  const threads = trainerThreadsOf(s);
  return threads === undefined ? {} : { threads };
}
