/**
 * `Trainer.create`'s options: checked at the edge (TypeError / RangeError naming the option, code
 * SEGLOSS_INVALID_ARGUMENT), defaults written once here, resolved into the flat native config. The
 * resolved options, with every default filled in, are also the `config` stored in checkpoints, from
 * which `Trainer.load` rebuilds the trainer through this same code.
 */
import { defaultInverseFormNetwork } from '../inverseform';
import { lossDefinition } from '../losses/registry';
import type { ResolvedLossRequest, ResolvedLossTerm } from '../native/resolved';
import { resolveLossRequest } from '../resolve';
import { torchAddon } from '../torch/addon';
import { checkDevice } from '../torch/index';
import type { LossSpec } from '../types';
import { checkKnownKeys, is, quoteList, rangeError, typeError } from '../validate';
import type {
  NativeStandaloneTerm,
  NativeTrainerConfig,
  ResolvedModelOptions,
  ResolvedOptimizerOptions,
  ResolvedSchedule,
  ResolvedTransUNetOptions,
  ResolvedUNetOptions,
} from './native';
import type { AdamWOptions, LrSchedule, OptimizerOptions, Precision, SgdOptions, TrainerOptions, UNetModelOptions, VitPreset } from './types';

/** The `format` of the config record inside checkpoints. */
export const CONFIG_FORMAT = 'segloss-trainer-config/1';

/** The most classes a model may have (predictions are returned as Uint16Array above 256). */
export const MAX_CLASSES = 65536;

const DEFAULT_OBJECTIVE: LossSpec = [
  { loss: 'dice', weight: 0.5 },
  { loss: 'cross-entropy', weight: 0.5 },
];

/** Trainer options with every default filled in (JSON-like: stored in checkpoints). */
export interface ResolvedTrainerOptions {
  readonly format: typeof CONFIG_FORMAT;
  readonly model: ResolvedModelOptions;
  readonly objective: unknown; // the loss spec, JSON-like (typed arrays as arrays)
  readonly ignoreIndex: number | null;
  readonly optimizer: Required<SgdOptions> | Required<AdamWOptions>;
  readonly device: string;
  readonly seed: number;
  readonly precision: Precision;
  readonly channelsLast: boolean;
}

/** An integer in [min, max]: TypeError for a non-number, RangeError otherwise. */
export function checkInteger(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!is.number(value)) throw typeError(`an integer in [${min}, ${max}]`, name, value);
  if (!is.integer(value) || value < min || value > max) throw rangeError(`an integer in [${min}, ${max}]`, name, value);
  return value;
}

function checkNumberIn(value: unknown, name: string, what: string, ok: (x: number) => boolean): number {
  if (!is.number(value)) throw typeError(what, name, value);
  if (!Number.isFinite(value) || !ok(value)) throw rangeError(what, name, value);
  return value;
}

function positive(value: unknown, name: string): number {
  return checkNumberIn(value, name, 'a finite number > 0', (x) => x > 0);
}

function nonNegative(value: unknown, name: string): number {
  return checkNumberIn(value, name, 'a finite number ≥ 0', (x) => x >= 0);
}

function unitOpen(value: unknown, name: string): number {
  return checkNumberIn(value, name, 'a number in [0, 1)', (x) => x >= 0 && x < 1);
}

function boolean(value: unknown, name: string): boolean {
  if (!is.bool(value)) throw typeError('a boolean', name, value);
  return value;
}

const MODEL_NAMES = ['unet', 'transunet'] as const;
const UNET_KEYS = ['name', 'inChannels', 'numClasses', 'baseChannels', 'bilinear'];
const TRANSUNET_KEYS = ['name', 'inChannels', 'numClasses', 'imageSize', 'vitPreset', 'layers', 'hidden', 'heads', 'mlp', 'dropout'];
const VIT_PRESETS: readonly VitPreset[] = ['b16', 's16', 'ti16'];
/** hidden, layers, heads, mlp of each preset (as TransUNetOptions::preset in transunet.h). */
const VIT_SIZES: Record<VitPreset, { hidden: number; layers: number; heads: number; mlp: number }> = {
  b16: { hidden: 768, layers: 12, heads: 12, mlp: 3072 },
  s16: { hidden: 384, layers: 12, heads: 6, mlp: 1536 },
  ti16: { hidden: 192, layers: 12, heads: 3, mlp: 768 },
};

function checkModel(model: unknown): ResolvedModelOptions {
  if (!is.object(model)) throw typeError(`an object { name: ${quoteList(MODEL_NAMES)}, ... }`, 'model', model);
  if (!is.string(model.name)) throw typeError(`one of ${quoteList(MODEL_NAMES)}`, 'model.name', model.name);
  if (!is.oneOf(model.name, MODEL_NAMES)) throw rangeError(`one of ${quoteList(MODEL_NAMES)}`, 'model.name', model.name);
  return model.name === 'unet' ? checkUNet(model) : checkTransUNet(model);
}

function numClasses(value: unknown): number {
  return value === undefined ? 2 : checkInteger(value, 'model.numClasses', 2, MAX_CLASSES);
}

function checkUNet(model: Record<string, unknown>): ResolvedUNetOptions {
  checkKnownKeys(model, UNET_KEYS, 'an option name of model (unet)');
  const m = model as Partial<UNetModelOptions>;
  return {
    name: 'unet',
    inChannels: m.inChannels === undefined ? 1 : checkInteger(m.inChannels, 'model.inChannels', 1, 4096),
    numClasses: numClasses(m.numClasses),
    baseChannels: m.baseChannels === undefined ? 64 : checkInteger(m.baseChannels, 'model.baseChannels', 1, 1024),
    bilinear: m.bilinear === undefined ? false : boolean(m.bilinear, 'model.bilinear'),
  };
}

function checkTransUNet(m: Record<string, unknown>): ResolvedTransUNetOptions {
  checkKnownKeys(m, TRANSUNET_KEYS, 'an option name of model (transunet)');
  const inChannels = m.inChannels === undefined ? 1 : checkInteger(m.inChannels, 'model.inChannels', 1, 3);
  if (inChannels === 2) throw rangeError('1 (repeated to 3) or 3', 'model.inChannels', 2);
  const imageSize = m.imageSize === undefined ? 224 : checkInteger(m.imageSize, 'model.imageSize', 16, 4096);
  if (imageSize % 16 !== 0) throw rangeError('a multiple of 16', 'model.imageSize', imageSize);
  let vitPreset: VitPreset = 'b16';
  if (m.vitPreset !== undefined) {
    if (!is.string(m.vitPreset)) throw typeError(`one of ${quoteList(VIT_PRESETS)}`, 'model.vitPreset', m.vitPreset);
    if (!is.oneOf(m.vitPreset, VIT_PRESETS)) throw rangeError(`one of ${quoteList(VIT_PRESETS)}`, 'model.vitPreset', m.vitPreset);
    vitPreset = m.vitPreset;
  }
  const preset = VIT_SIZES[vitPreset];
  const hidden = m.hidden === undefined ? preset.hidden : checkInteger(m.hidden, 'model.hidden', 1, 65536);
  const heads = m.heads === undefined ? preset.heads : checkInteger(m.heads, 'model.heads', 1, 1024);
  if (hidden % heads !== 0) throw rangeError(`a divisor of hidden ${hidden}`, 'model.heads', heads);
  return {
    name: 'transunet',
    inChannels,
    numClasses: numClasses(m.numClasses),
    imageSize,
    vitPreset,
    hidden,
    layers: m.layers === undefined ? preset.layers : checkInteger(m.layers, 'model.layers', 0, 1024),
    heads,
    mlp: m.mlp === undefined ? preset.mlp : checkInteger(m.mlp, 'model.mlp', 1, 1 << 20),
    dropout: m.dropout === undefined ? 0.1 : checkNumberIn(m.dropout, 'model.dropout', 'a number in [0, 1)', (x) => x >= 0 && x < 1),
  };
}

const OPTIMIZER_NAMES = ['sgd', 'adamw'] as const;
const SCHEDULES: readonly LrSchedule[] = ['poly', 'constant'];
const SCHEDULE_KEYS = ['schedule', 'power', 'totalSteps'];
const SGD_KEYS = ['name', 'lr', 'momentum', 'weightDecay', 'nesterov', ...SCHEDULE_KEYS];
const ADAMW_KEYS = ['name', 'lr', 'betas', 'eps', 'weightDecay', ...SCHEDULE_KEYS];

function checkSchedule(o: Record<string, unknown>, fallback: LrSchedule): { schedule: LrSchedule; power: number; totalSteps: number } {
  let schedule = fallback;
  if (o.schedule !== undefined) {
    if (!is.string(o.schedule)) throw typeError(`one of ${quoteList(SCHEDULES)}`, 'optimizer.schedule', o.schedule);
    if (!is.oneOf(o.schedule, SCHEDULES)) throw rangeError(`one of ${quoteList(SCHEDULES)}`, 'optimizer.schedule', o.schedule);
    schedule = o.schedule;
  }
  const power = o.power === undefined ? 0.9 : positive(o.power, 'optimizer.power');
  // 0 (the default) means: each fit call's epochs × steps per epoch.
  const totalSteps = o.totalSteps === undefined || o.totalSteps === 0 ? 0 : checkInteger(o.totalSteps, 'optimizer.totalSteps', 1);
  return { schedule, power, totalSteps };
}

function checkBetas(value: unknown): [number, number] {
  if (value === undefined) return [0.9, 0.999];
  if (!Array.isArray(value) || value.length !== 2) throw typeError('an array [β1, β2]', 'optimizer.betas', value);
  return [unitOpen(value[0], 'optimizer.betas[0]'), unitOpen(value[1], 'optimizer.betas[1]')];
}

function checkOptimizer(optimizer: unknown): Required<SgdOptions> | Required<AdamWOptions> {
  if (optimizer === undefined) optimizer = { name: 'sgd' };
  if (!is.object(optimizer)) throw typeError(`an object { name: ${quoteList(OPTIMIZER_NAMES)}, ... }`, 'optimizer', optimizer);
  const name = optimizer.name;
  if (!is.string(name)) throw typeError(`one of ${quoteList(OPTIMIZER_NAMES)}`, 'optimizer.name', name);
  if (!is.oneOf(name, OPTIMIZER_NAMES)) throw rangeError(`one of ${quoteList(OPTIMIZER_NAMES)}`, 'optimizer.name', name);
  const o = optimizer as Record<string, unknown>;
  if (name === 'sgd') {
    checkKnownKeys(o, SGD_KEYS, 'an option name of optimizer (sgd)');
    return {
      name,
      lr: o.lr === undefined ? 0.01 : positive(o.lr, 'optimizer.lr'),
      momentum: o.momentum === undefined ? 0.9 : unitOpen(o.momentum, 'optimizer.momentum'),
      weightDecay: o.weightDecay === undefined ? 1e-4 : nonNegative(o.weightDecay, 'optimizer.weightDecay'),
      nesterov: o.nesterov === undefined ? false : boolean(o.nesterov, 'optimizer.nesterov'),
      ...checkSchedule(o, 'poly'),
    };
  }
  checkKnownKeys(o, ADAMW_KEYS, 'an option name of optimizer (adamw)');
  return {
    name,
    lr: o.lr === undefined ? 1e-3 : positive(o.lr, 'optimizer.lr'),
    betas: checkBetas(o.betas),
    eps: o.eps === undefined ? 1e-8 : positive(o.eps, 'optimizer.eps'),
    weightDecay: o.weightDecay === undefined ? 1e-2 : nonNegative(o.weightDecay, 'optimizer.weightDecay'),
    ...checkSchedule(o, 'constant'),
  };
}

function nativeOptimizer(o: Required<OptimizerOptions>): ResolvedOptimizerOptions {
  if (o.name === 'sgd') return { name: 'sgd', lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov };
  return { name: 'adamw', lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay };
}

function nativeSchedule(o: Required<OptimizerOptions>): ResolvedSchedule {
  return { name: o.schedule, power: o.power, totalSteps: o.totalSteps };
}

/** A JSON-like copy of a loss spec (typed arrays become arrays), for the checkpoint's record. */
function jsonLike(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(jsonLike);
  if (is.object(value)) return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, jsonLike(v)]));
  return value;
}

/** The most CPU threads a trainer takes (`threads`). */
const MAX_THREADS = 1024;

const TRAINER_KEYS = ['model', 'objective', 'ignoreIndex', 'optimizer', 'device', 'seed', 'precision', 'channelsLast', 'threads'];
const PRECISIONS: readonly Precision[] = ['float32', 'bfloat16'];

/** Everything `Trainer.create` needs: the resolved options (the record) and the native config. */
export interface CheckedTrainerOptions {
  readonly resolved: ResolvedTrainerOptions;
  readonly native: NativeTrainerConfig;
}

/**
 * Checks and resolves `Trainer.create`'s options.
 * @throws TypeError / RangeError (code SEGLOSS_INVALID_ARGUMENT) naming the first bad option.
 * @throws Error (code SEGLOSS_NO_LIBTORCH) when the torch addon is unavailable (for `device`).
 */
export function checkTrainerOptions(options: unknown): CheckedTrainerOptions {
  if (!is.object(options)) throw typeError('an object { model, objective?, optimizer?, device?, seed? }', 'options', options);
  checkKnownKeys(options, TRAINER_KEYS, 'an option name of Trainer.create');
  const model = checkModel(options.model);
  const ignoreIndex = options.ignoreIndex === undefined || options.ignoreIndex === null
    ? null
    : checkInteger(options.ignoreIndex, 'ignoreIndex', -(2 ** 31), 2 ** 31 - 1);
  const objectiveSpec = options.objective === undefined ? DEFAULT_OBJECTIVE : options.objective;
  const lossOptions = ignoreIndex === null ? {} : { ignoreIndex };
  const { engine, standalone } = resolveObjective(objectiveSpec, lossOptions, model);
  const optimizer = checkOptimizer(options.optimizer);
  const device = checkDevice(options.device, torchAddon());
  const seed = options.seed === undefined ? 0 : checkInteger(options.seed, 'seed', 0);
  let precision: Precision = 'float32';
  if (options.precision !== undefined) {
    if (!is.string(options.precision)) throw typeError(`one of ${quoteList(PRECISIONS)}`, 'precision', options.precision);
    if (!is.oneOf(options.precision, PRECISIONS)) throw rangeError(`one of ${quoteList(PRECISIONS)}`, 'precision', options.precision);
    precision = options.precision;
  }
  const channelsLast = options.channelsLast === undefined ? false : boolean(options.channelsLast, 'channelsLast');
  const threads = options.threads === undefined ? 0 : checkInteger(options.threads, 'threads', 1, MAX_THREADS);
  const resolved: ResolvedTrainerOptions = {
    format: CONFIG_FORMAT,
    model,
    objective: jsonLike(objectiveSpec),
    ignoreIndex,
    optimizer,
    device,
    seed,
    precision,
    channelsLast,
  };
  const native: NativeTrainerConfig = {
    model,
    objective: engine,
    standalone,
    optimizer: nativeOptimizer(optimizer),
    schedule: nativeSchedule(optimizer),
    device,
    seed,
    precision,
    channelsLast,
    threads,
    record: resolved,
  };
  return { resolved, native };
}

/** The resolved objective: its engine terms, and its standalone term (with its position) if any. */
interface ResolvedObjective {
  readonly engine: ResolvedLossRequest;
  readonly standalone: NativeStandaloneTerm | null;
}

/**
 * The objective through the loss API's own resolution (terms may be losses with their own entry
 * points, which the trainer feeds from the model), its messages naming `objective`; then the
 * checks of such a term's combination (checkStandaloneTerm).
 */
function resolveObjective(spec: unknown, lossOptions: Record<string, unknown>, model: ResolvedModelOptions): ResolvedObjective {
  let request: ResolvedLossRequest;
  try {
    request = resolveLossRequest(spec, lossOptions, model.numClasses, [], { standaloneTerms: true }).request;
  } catch (error) {
    const e = error as Error;
    e.message = e.message.replace(/ for loss(\[|\b)/, ' for objective$1');
    throw e;
  }
  const positions = request.terms.flatMap((term, i) => (lossDefinition(term.id).ownEntry ? [i] : []));
  if (positions.length === 0) return { engine: request, standalone: null };
  if (positions.length > 1) {
    throw rangeError('at most one term of a loss with its own entry point (boundary-aware, inverseform, conditional-boundary)', 'objective',
      positions.map((i) => request.terms[i].id));
  }
  const position = positions[0];
  const term = request.terms[position];
  const engine = { ...request, terms: request.terms.filter((_, i) => i !== position) };
  checkStandaloneTerm(term, engine.terms, model, spec);
  const network = term.id === 'inverseform' ? term.network ?? defaultInverseFormNetwork() : null;
  return { engine, standalone: { position, term, network } };
}

/**
 * What each standalone loss needs from the model and the other terms:
 * - conditional-boundary: the model's features and 1×1 head (unet; transunet's head is 3×3), and
 *   a term on the logits, which it reaches through their argmax only;
 * - boundary-aware: the whole objective (the model outputs C·K bin channels, no segmentation logits);
 * - inverseform: its own CE is part of it; other terms see the first C channels.
 */
function checkStandaloneTerm(term: ResolvedLossTerm, others: readonly ResolvedLossTerm[], model: ResolvedModelOptions, spec: unknown): void {
  if (term.id === 'conditional-boundary') {
    if (model.name !== 'unet') {
      throw rangeError("model 'unet' with conditional-boundary (it reads the model's features and 1×1 head; transunet's head is a 3×3 convolution)",
        'objective', spec);
    }
    if (others.length === 0) {
      throw rangeError("conditional-boundary with a term on the logits, which it reaches only through their argmax " +
        "(e.g. [{ loss: 'conditional-boundary', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }])", 'objective', spec);
    }
  }
  if (term.id === 'boundary-aware' && others.length > 0) {
    throw rangeError('boundary-aware alone (its model outputs C·K distance-bin channels and no segmentation logits for other terms)',
      'objective', spec);
  }
}

/** A recorded objective with inverseform's `network` back as a Float32Array (jsonLike wrote an array). */
function reviveObjective(objective: unknown): unknown {
  if (!Array.isArray(objective)) return objective;
  return objective.map((term: unknown) => {
    if (!is.object(term) || term.loss !== 'inverseform' || !is.object(term.options) || !Array.isArray(term.options.network)) return term;
    return { ...term, options: { ...term.options, network: Float32Array.from(term.options.network as number[]) } };
  });
}

/** The options to rebuild a trainer from a checkpoint's record (optionally on another device). */
export function optionsFromRecord(record: unknown, device: string | undefined): TrainerOptions {
  if (!is.object(record) || record.format !== CONFIG_FORMAT) {
    throw rangeError(`a segloss checkpoint (config format '${CONFIG_FORMAT}')`, 'path', record === null ? null : 'a file without it');
  }
  const { format: _format, ignoreIndex, objective, ...rest } = record as Record<string, unknown>;
  return {
    ...(rest as unknown as TrainerOptions),
    objective: reviveObjective(objective) as TrainerOptions['objective'],
    ...(ignoreIndex === null ? {} : { ignoreIndex: ignoreIndex as number }),
    ...(device === undefined ? {} : { device: device as TrainerOptions['device'] }),
  };
}
