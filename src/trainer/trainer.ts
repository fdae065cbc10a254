/**
 * `Trainer`: UNet training scripted from TypeScript, every step running natively in libtorch on
 * the trainer's own thread (native/torch/trainer). Calls on one trainer run one after another in
 * call order; each returns a Promise and never blocks the event loop.
 */
import { checkKnownKeys, is, quoteList, rangeError, typeError } from '../validate';
import { checkInteger, checkTrainerOptions, optionsFromRecord, type ResolvedTrainerOptions } from './config';
import { checkBatchNormBatches, checkCases, checkImageShape, checkImages, checkTrainingData } from './data';
import { type NativeData, type NativeEvent, type NativeFitOptions, type NativeTrainer, newNativeTrainer } from './native';
import type { EvaluateOptions, Evaluation, FitOptions, FitResult, ProgressEvent, TrainerOptions, TrainingData } from './types';

/** `code` of the error thrown by every call on a disposed trainer. */
export const TRAINER_DISPOSED = 'SEGLOSS_TRAINER_DISPOSED';
/** `code` of fit's error when a step's logits, loss or gradient is not finite (`nonFinite: 'stop'`). */
export const TRAINER_NON_FINITE = 'SEGLOSS_NON_FINITE';
/** `code` of the error of a trainer call that ran out of memory (the trainer stays usable). */
export const TRAINER_OUT_OF_MEMORY = 'SEGLOSS_OUT_OF_MEMORY';
/** `code` of fit's error when another fit of the same trainer has not settled yet. */
export const TRAINER_BUSY = 'SEGLOSS_TRAINER_BUSY';

const FIT_KEYS = ['epochs', 'batchSize', 'augment', 'validation', 'validationOptions', 'signal', 'onProgress', 'checkpoint', 'nonFinite'];
const AUGMENTATIONS = ['none', 'rot-flip-rotate', 'scale-crop-flip'] as const;
const NON_FINITE_POLICIES = ['stop', 'skip'] as const;
const CHECKPOINT_KEYS = ['path', 'everySteps', 'everyEpochs'];
const BATCH_KEYS = ['batchSize'];
const EVALUATE_KEYS = ['batchSize', 'cases', 'hd95'];
/** The most classes HD95 is computed for (one pass over each case per class). */
const MAX_HD95_CLASSES = 4096;
const LOAD_KEYS = ['device', 'threads'];

/**
 * Native trainers with a job in flight. On process 'exit' (process.exit() included) each is
 * stopped at its next step boundary and its thread joined before libtorch's globals are destroyed:
 * a thread still inside libtorch then would crash the exiting process.
 */
const running = new Set<NativeTrainer>();
let exitHookInstalled = false;

function track(native: NativeTrainer): void {
  if (!exitHookInstalled) {
    process.once('exit', () => {
      for (const trainer of running) trainer.stop();
    });
    exitHookInstalled = true;
  }
  running.add(native);
}

/** Runs one native job with `native` tracked for process exit. */
async function tracked<T>(native: NativeTrainer, job: () => Promise<T>): Promise<T> {
  track(native);
  try {
    return await job();
  } finally {
    running.delete(native);
  }
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

function checkPath(value: unknown, name: string): string {
  if (!is.string(value) || value.length === 0) throw typeError('a non-empty string (a file path)', name, value);
  return value;
}

function checkOptionsObject(value: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (!is.object(value)) throw typeError('an object', name, value);
  checkKnownKeys(value, keys, `an option name of ${name}`);
  return value;
}

function checkBatchSize(value: unknown, name: string): number {
  return value === undefined ? 8 : checkInteger(value, name, 1, 1 << 20);
}

function checkCheckpoint(value: unknown): NativeFitOptions['checkpoint'] {
  if (value === undefined) return null;
  const o = checkOptionsObject(value, 'options.checkpoint', CHECKPOINT_KEYS);
  const path = checkPath(o.path, 'options.checkpoint.path');
  const everySteps = o.everySteps === undefined ? 0 : checkInteger(o.everySteps, 'options.checkpoint.everySteps', 1);
  const everyEpochs = o.everyEpochs === undefined ? (everySteps ? 0 : 1) : checkInteger(o.everyEpochs, 'options.checkpoint.everyEpochs', 1);
  return { path, everySteps, everyEpochs };
}

/** evaluate's options (and fit's validationOptions), checked against a data set of n images. */
interface CheckedEvaluate {
  readonly batchSize: number;
  readonly cases: readonly number[] | undefined;
  readonly hd95: boolean;
}

function checkEvaluateOptions(value: unknown, name: string, n: number, classes: number, defaultBatch: number): CheckedEvaluate {
  const o = checkOptionsObject(value, name, EVALUATE_KEYS);
  const batchSize = o.batchSize === undefined ? defaultBatch : checkBatchSize(o.batchSize, `${name}.batchSize`);
  const cases = checkCases(o.cases, n, `${name}.cases`);
  const hd95 = o.hd95 === undefined ? false : o.hd95;
  if (!is.bool(hd95)) throw typeError('a boolean', `${name}.hd95`, hd95);
  if (hd95 && classes > MAX_HD95_CLASSES) throw rangeError(`a model with at most ${MAX_HD95_CLASSES} classes`, `${name}.hd95`, classes);
  return { batchSize, cases, hd95 };
}

/** fit's checked options. */
interface CheckedFit {
  readonly native: NativeFitOptions;
  readonly validation: NativeData | null;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((event: ProgressEvent) => void) | undefined;
}

/**
 * Trains and evaluates a segmentation model natively.
 *
 * @example
 * ```ts
 * import { Trainer } from 'segloss';
 * const trainer = await Trainer.create({
 *   model: { name: 'unet', inChannels: 1, numClasses: 9, baseChannels: 32 },
 *   objective: [{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }],
 *   optimizer: { name: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 1e-4, schedule: 'poly' },
 *   device: 'cpu', seed: 0,
 * });
 * await trainer.fit({ images, masks, shape: [N, 1, H, W] }, { epochs: 10, batchSize: 8, onProgress: console.log });
 * const { meanDice, perClassDice } = await trainer.evaluate(test);
 * await trainer.save('unet.pt');   // torch.load('unet.pt')['model'] is a PyTorch state dict
 * trainer.dispose();
 * ```
 */
export class Trainer {
  #native: NativeTrainer | null;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #options: ResolvedTrainerOptions;
  readonly #parameterCount: number;
  readonly #threads: number;
  #epoch = 0;
  #step = 0;
  #fitting = false;  // a fit of this trainer has not settled

  private constructor(native: NativeTrainer, options: ResolvedTrainerOptions, { parameterCount, threads }: { parameterCount: number; threads: number }) {
    this.#native = native;
    this.#options = options;
    this.#parameterCount = parameterCount;
    this.#threads = threads;
  }

  /**
   * Builds the model (initialised from `seed`), the objective and the optimizer.
   * @throws (rejects) TypeError / RangeError (code SEGLOSS_INVALID_ARGUMENT) naming the bad option;
   *   Error (code SEGLOSS_NO_LIBTORCH) when the torch addon is unavailable.
   */
  static async create(options: TrainerOptions): Promise<Trainer> {
    const { resolved, native: config } = checkTrainerOptions(options);
    const native = newNativeTrainer();
    try {
      return new Trainer(native, resolved, await tracked(native, () => native.create(config)));
    } catch (error) {
      native.dispose();
      throw error;
    }
  }

  /**
   * A trainer restored from a checkpoint written by `save` or by `fit`'s `checkpoint` option: the
   * same model, objective, optimizer state, schedule, RNG state, epoch and step, so `fit` continues
   * bit-identically on the CPU (with the same `threads`). `device` overrides the recorded device;
   * `threads` is `Trainer.create`'s (not recorded).
   * @throws (rejects) TypeError for a bad path; Error when the file is missing or not a segloss checkpoint.
   */
  static async load(path: string, options?: { readonly device?: TrainerOptions['device']; readonly threads?: number }): Promise<Trainer> {
    checkPath(path, 'path');
    const checked = checkOptionsObject(options, 'options', LOAD_KEYS);
    const device = checked.device as TrainerOptions['device'] | undefined;
    const threads = checked.threads as number | undefined;
    const native = newNativeTrainer();
    try {
      const { config: record } = await tracked(native, () => native.open(path));
      const { resolved, native: config } = checkTrainerOptions({ ...optionsFromRecord(record, device), ...(threads === undefined ? {} : { threads }) });
      const trainer = new Trainer(native, resolved, await tracked(native, () => native.create(config)));
      const state = await tracked(native, () => native.restore());
      trainer.#epoch = state.epoch;
      trainer.#step = state.step;
      return trainer;
    } catch (error) {
      native.dispose();
      throw error;
    }
  }

  /** The number of trainable parameters (Σ numel). */
  get parameterCount(): number {
    this.#live();
    return this.#parameterCount;
  }

  /** The CPU threads this trainer's jobs run with (`threads`, or libtorch's default), as libtorch reports them on its thread. */
  get threads(): number {
    this.#live();
    return this.#threads;
  }

  /** Epochs completed (across fits and resumes). */
  get epoch(): number {
    this.#live();
    return this.#epoch;
  }

  /** Steps completed (across fits and resumes). */
  get step(): number {
    this.#live();
    return this.#step;
  }

  /** The resolved options, every default filled in (as stored in checkpoints). */
  get options(): ResolvedTrainerOptions {
    this.#live();
    return structuredClone(this.#options);
  }

  /**
   * Trains until `options.epochs` epochs are complete. Events arrive in order on the main thread
   * through `onProgress`; `signal` stops at the next step boundary (writing a checkpoint first
   * when `checkpoint` is set) and the promise rejects with an AbortError. Other calls made during
   * a fit wait for it (the trainer's queue); a second fit is refused instead: two trainings of one
   * model at once are always a mistake.
   * @throws (rejects) TypeError / RangeError for bad data or options; the error `onProgress` threw;
   *   Error with code `SEGLOSS_TRAINER_BUSY` while another fit of this trainer has not settled.
   */
  async fit(data: TrainingData, options: FitOptions): Promise<FitResult> {
    const native = this.#live();
    const train = checkTrainingData(data, 'data', this.#options.model, this.#options.ignoreIndex);
    const fit = this.#checkFit(options);
    checkBatchNormBatches(this.#options.model, train.shape, fit.native.batchSize, 'options.batchSize');
    if (fit.signal?.aborted) throw abortError(fit.signal);
    if (this.#fitting) {
      throw Object.assign(new Error('Trainer.fit: another fit of this trainer is still running; await it before the next, or train a second Trainer'), { code: TRAINER_BUSY });
    }
    this.#fitting = true;
    try {
      return await this.#enqueue(() => this.#runFit(native, train, fit));
    } finally {
      this.#fitting = false;
    }
  }

  /**
   * The metrics ({@link Evaluation}) and the objective on `data`, in eval mode (BatchNorm running
   * statistics) without gradients; `cases` makes Dice per volume. A TransUNet sees each slice
   * resized to imageSize (bicubic), its classes resized back (nearest), as TransUNet's test.
   */
  async evaluate(data: TrainingData, options?: EvaluateOptions): Promise<Evaluation> {
    const native = this.#live();
    const checked = checkTrainingData(data, 'data', this.#options.model, this.#options.ignoreIndex, true);
    const { batchSize, cases, hd95 } = checkEvaluateOptions(options, 'options', checked.shape[0], this.#options.model.numClasses, 8);
    const withCases = cases ? { ...checked, cases } : checked;
    return this.#enqueue(() => native.evaluate(withCases, batchSize, hd95));
  }

  /**
   * The predicted classes of images [N, Cin, H, W]: a Uint8Array [N, H, W] (a Uint16Array when
   * numClasses > 256). The argmax of the logits (of the first C channels with inverseform), or
   * with boundary-aware the decoder of `decodeBoundaryAware`.
   */
  async predict(images: Float32Array, shape: readonly [number, number, number, number], options?: { readonly batchSize?: number }): Promise<Uint8Array | Uint16Array> {
    const native = this.#live();
    const checkedShape = checkImageShape(shape, 'shape', this.#options.model, true);
    const checked = checkImages(images, checkedShape, 'images');
    const batchSize = checkBatchSize(checkOptionsObject(options, 'options', BATCH_KEYS).batchSize, 'options.batchSize');
    return this.#enqueue(() => native.predict(checked, checkedShape, batchSize, false));
  }

  /**
   * The model's output [N, K, H, W] (Float32Array, NCHW) of images [N, Cin, H, W], in eval mode:
   * K = numClasses, or C + 1 with an inverseform term (the edge logit last), or C·bins with
   * boundary-aware (class-major distance bins).
   */
  async predictLogits(images: Float32Array, shape: readonly [number, number, number, number], options?: { readonly batchSize?: number }): Promise<Float32Array> {
    const native = this.#live();
    const checkedShape = checkImageShape(shape, 'shape', this.#options.model, true);
    const checked = checkImages(images, checkedShape, 'images');
    const batchSize = checkBatchSize(checkOptionsObject(options, 'options', BATCH_KEYS).batchSize, 'options.batchSize');
    return this.#enqueue(() => native.predict(checked, checkedShape, batchSize, true));
  }

  /**
   * Writes a checkpoint atomically: a torch.save file whose dict has `model` (the PyTorch module's
   * state dict), `optimizer` (torch.optim's state_dict layout), `scheduler`, `rng`, `epoch`,
   * `step`, and `config` (these options). Python: `torch.load(path)`.
   */
  async save(path: string): Promise<void> {
    const native = this.#live();
    checkPath(path, 'path');
    return this.#enqueue(() => native.save(path));
  }

  /**
   * Loads model weights from a torch.save file: a dict {name: tensor} with the PyTorch module's
   * keys (Python: `torch.save(dict(model.state_dict()), path)`), or a checkpoint (its `model`).
   * @throws (rejects) Error naming the first missing, unexpected or mis-shaped key.
   */
  async loadStateDict(path: string): Promise<void> {
    const native = this.#live();
    checkPath(path, 'path');
    return this.#enqueue(() => native.loadWeights(path));
  }

  /**
   * Loads pretrained ViT weights in the published `R50+ViT-B_16.npz` key layout (np.savez, as
   * Google's ViT checkpoints) into a TransUNet's encoder, as the reference's `load_from`: the
   * ResNet root and stages, the patch embedding, the position embeddings (the grid resized when
   * imageSize differs), every transformer block and the final norm. The decoder keeps its weights.
   * @throws RangeError when the model is not a TransUNet; (rejects) Error naming a missing or mis-shaped key.
   */
  async loadViTWeights(path: string): Promise<void> {
    const native = this.#live();
    checkPath(path, 'path');
    if (this.#options.model.name !== 'transunet') {
      throw rangeError("a trainer whose model is 'transunet'", 'loadViTWeights', this.#options.model.name);
    }
    return this.#enqueue(() => native.loadViTWeights(path));
  }

  /**
   * Stops a running fit at its next step boundary and frees the native model once it has stopped.
   * Every later call on this trainer throws an Error with code `SEGLOSS_TRAINER_DISPOSED`;
   * disposing again does nothing.
   */
  dispose(): void {
    if (!this.#native) return;
    this.#native.dispose();
    this.#native = null;
  }

  #live(): NativeTrainer {
    if (this.#native) return this.#native;
    const error = new Error('segloss: this Trainer was disposed; create or load another one');
    throw Object.assign(error, { code: TRAINER_DISPOSED });
  }

  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => tracked(this.#live(), job));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #checkFit(options: unknown): CheckedFit {
    if (!is.object(options)) throw typeError('an object { epochs, batchSize?, ... }', 'options', options);
    checkKnownKeys(options, FIT_KEYS, 'an option name of options');
    const epochs = checkInteger(options.epochs, 'options.epochs', 1);
    const batchSize = checkBatchSize(options.batchSize, 'options.batchSize');
    const validationData = options.validation === undefined
      ? null
      : checkTrainingData(options.validation, 'options.validation', this.#options.model, this.#options.ignoreIndex);
    if (options.validationOptions !== undefined && !validationData) {
      throw typeError('options.validation alongside it (validation data)', 'options.validationOptions', options.validationOptions);
    }
    const evaluation = checkEvaluateOptions(options.validationOptions, 'options.validationOptions',
      validationData ? validationData.shape[0] : 0, this.#options.model.numClasses, batchSize);
    const validation = validationData && evaluation.cases ? { ...validationData, cases: evaluation.cases } : validationData;
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw typeError('an AbortSignal', 'options.signal', signal);
    const onProgress = options.onProgress;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw typeError('a function', 'options.onProgress', onProgress);
    const checkpoint = checkCheckpoint(options.checkpoint);
    const augment = options.augment === undefined ? 'none' : options.augment;
    if (!is.string(augment)) throw typeError(`one of ${quoteList(AUGMENTATIONS)}`, 'options.augment', augment);
    if (!is.oneOf(augment, AUGMENTATIONS)) throw rangeError(`one of ${quoteList(AUGMENTATIONS)}`, 'options.augment', augment);
    const nonFinite = options.nonFinite === undefined ? 'stop' : options.nonFinite;
    if (!is.string(nonFinite)) throw typeError(`one of ${quoteList(NON_FINITE_POLICIES)}`, 'options.nonFinite', nonFinite);
    if (!is.oneOf(nonFinite, NON_FINITE_POLICIES)) throw rangeError(`one of ${quoteList(NON_FINITE_POLICIES)}`, 'options.nonFinite', nonFinite);
    return {
      native: { epochs, batchSize, evalBatchSize: evaluation.batchSize, evalHd95: evaluation.hd95, augment, checkpoint, nonFinite },
      validation,
      signal,
      onProgress: onProgress as CheckedFit['onProgress'],
    };
  }

  async #runFit(native: NativeTrainer, train: NativeData, fit: CheckedFit): Promise<FitResult> {
    if (fit.signal?.aborted) throw abortError(fit.signal);
    let callbackError: { error: unknown } | null = null;
    const onEvent = (event: NativeEvent): void => {
      if (event.type === 'step') this.#step = event.step + 1;
      if (event.type === 'epoch') this.#epoch = event.epoch + 1;
      if (!fit.onProgress || callbackError) return;
      try {
        fit.onProgress(event);
      } catch (error) {
        callbackError = { error };
        native.abort();
      }
    };
    const onAbort = (): void => native.abort();
    fit.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const summary = await native.fit(train, fit.validation, fit.native, onEvent);
      this.#epoch = summary.epoch;
      this.#step = summary.step;
      if (callbackError) throw (callbackError as { error: unknown }).error;
      this.#live();
      if (summary.aborted && fit.signal?.aborted) throw abortError(fit.signal);
      return { epoch: summary.epoch, step: summary.step, loss: summary.loss };
    } finally {
      fit.signal?.removeEventListener('abort', onAbort);
    }
  }
}
