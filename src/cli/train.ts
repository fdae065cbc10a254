/**
 * `segloss train`: reads a dataset, trains a model with the native Trainer, evaluates it on the
 * test split and writes the run folder (src/cli/run-dir.ts) with its report (src/report/). With no arguments: a UNet (base 16)
 * on the built-in fashion-seg, on the CPU, printing per-class and mean Dice.
 *
 * Ctrl-C stops at the next step boundary, writes the checkpoint and exits with code 130;
 * `segloss train --out DIR --resume` continues from it (bit-identically on the CPU).
 */
import * as fs from 'node:fs';

import { Command as Commander, Option } from 'commander';

import { type SegmentationDataset, loadDataset } from '../datasets/index';
import { firstImages } from '../datasets/resize';
import { Trainer } from '../trainer/trainer';
import type { EpochEvent, Evaluation, StepEvent } from '../trainer/types';
import { type Command, commanderCommand } from './command';
import { type ProgressReporter, createReporter, progressMode } from './progress';
import {
  type Environment,
  MetricsLog,
  RUN_CONFIG_FORMAT,
  RUN_SUMMARY_FORMAT,
  type RunConfig,
  type RunSummary,
  defaultRunDir,
  environmentOf,
  readRunConfig,
  runFiles,
  writeJson,
} from './run-dir';
import { readMetrics, writeRunReport } from '../report/index';
import { type RawTrainOptions, TRAIN_DEFAULTS, type TrainSettings, UsageError, parseInteger, optionalThreads, resolveTrainSettings, trainerOptionsOf } from './train-options';

export interface TrainFlags extends RawTrainOptions {
  readonly out?: string;
  readonly resume?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** The commander definition of `segloss train` (also the source of its help text). */
export function trainProgram(): Commander {
  const d = TRAIN_DEFAULTS;
  return new Commander('train')
    .description('Train a segmentation model and evaluate it on the test split')
    .option('--dataset <spec>', 'fashion-seg (built in), synapse:DIR, cityscapes:DIR or folder:DIR', d.dataset)
    .option('--model <spec>', 'unet[:BASE] (BASE: first-level channels) or transunet[:b16|s16|ti16]', d.model)
    .option('--loss <spec>', 'a loss id with options, ID[:k=v,…] (values: numbers, true/false, a/b/c arrays)', d.loss)
    .option('--ce-weight <w>', 'objective = (1 − w)·loss + w·cross-entropy (default 0 for inverseform and boundary-aware: whole objectives)', String(d.ceWeight))
    .option('--epochs <n>', 'epochs to train (with --resume: the new total)', String(d.epochs))
    .option('--batch-size <n>', 'images per step', String(d.batchSize))
    .option('--lr <x>', `learning rate (default: ${d.lr.adamw} for adamw, ${d.lr.sgd} for sgd), poly schedule`)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adamw']).default(d.optimizer))
    .option('--image-size <n>', "resize images to n × n (default: fashion-seg and folders their own, Synapse 224, Cityscapes 512)")
    .option('--device <device>', 'cpu, cuda or cuda:N', d.device)
    .option('--seed <n>', 'seeds the weights and the epoch order', String(d.seed))
    .addOption(new Option('--augment <name>', 'native batch augmentation').choices(['none', 'rot-flip-rotate', 'scale-crop-flip']).default(d.augment))
    .option('--threads <n>', 'CPU threads of the training (auto: 1 for unet:BASE ≤ 8 on the CPU, so that the default run gives the same result on every machine; else libtorch\'s default)', String(d.threads))
    .option('--train-limit <n>', 'train on the first n training images only')
    .option('--test-limit <n>', 'evaluate on the first n test images only')
    .option('--out <dir>', 'the run folder (default: runs/<dataset>-<model>-<time>)')
    .option('--resume', 'continue the run in --out from its checkpoint.pt')
    .option('--json', 'print every event as a JSON line on stdout')
    .option('--quiet', 'print only the final result')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
}

/** Commander's parsed values, with the defaults it filled in removed (they are resolved once, in train-options.ts). */
function explicitOptions(program: Commander): TrainFlags {
  const values = program.opts<Record<string, unknown>>();
  const explicit: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (program.getOptionValueSource(key) !== 'default') explicit[key] = value;
  }
  return explicit as TrainFlags;
}

/** A dataset with the image size and the limits of the settings applied. */
export async function prepareDataset(settings: Pick<TrainSettings, 'dataset' | 'imageSize' | 'trainLimit' | 'testLimit'>): Promise<SegmentationDataset> {
  const dataset = await loadDataset(settings.dataset, settings.imageSize === null ? {} : { imageSize: settings.imageSize });
  const train = settings.trainLimit === null ? dataset.train : firstImages(dataset.train, settings.trainLimit);
  const test = settings.testLimit === null ? dataset.test : firstImages(dataset.test, settings.testLimit);
  const testCases = settings.testLimit === null ? dataset.testCases : undefined;
  return { ...dataset, train, test, testCases };
}

/** Training images per second and step time, from the step events. */
class Throughput {
  images = 0;
  seconds = 0;
  add(batch: number, event: StepEvent): void {
    if (!(event.imagesPerSecond > 0)) return;
    this.images += batch;
    this.seconds += batch / event.imagesPerSecond;
  }
  get imagesPerSecond(): number {
    return this.seconds > 0 ? this.images / this.seconds : NaN;
  }
}

/** Each term's mean over an epoch's images (for the loss curves per term). */
class EpochTerms {
  #sums: number[] = [];
  #images = 0;
  add(batch: number, terms: readonly number[]): void {
    terms.forEach((t, i) => (this.#sums[i] = (this.#sums[i] ?? 0) + batch * t));
    this.#images += batch;
  }
  take(): number[] {
    const means = this.#sums.map((s) => s / this.#images);
    this.#sums = [];
    this.#images = 0;
    return means;
  }
}

interface RunContext {
  readonly dir: string;
  readonly settings: TrainSettings;
  readonly dataset: SegmentationDataset;
  readonly trainer: Trainer;
  readonly reporter: ProgressReporter;
  readonly metrics: MetricsLog;
}

function batchOf(settings: TrainSettings, trainImages: number, step: number, stepsPerEpoch: number): number {
  const last = trainImages % settings.batchSize;
  return step % stepsPerEpoch === stepsPerEpoch - 1 && last ? last : settings.batchSize;
}

/** Runs fit with progress, metrics.jsonl and Ctrl-C; resolves to 'done' or 'interrupted'. */
async function fitRun(ctx: RunContext, throughput: Throughput): Promise<'done' | 'interrupted'> {
  const { settings, dataset, trainer, reporter, metrics } = ctx;
  const n = dataset.train.shape[0];
  const stepsPerEpoch = Math.ceil(n / settings.batchSize);
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    reporter.note('segloss train: stopping at the next step to write the checkpoint (Ctrl-C again to quit now)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const terms = new EpochTerms();
  const started = Date.now();
  reporter.start({ epoch: trainer.epoch, epochs: settings.epochs, stepsPerEpoch, stepInEpoch: trainer.step - trainer.epoch * stepsPerEpoch });
  try {
    await trainer.fit(dataset.train, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      augment: settings.augment,
      validation: dataset.test,
      ...(dataset.testCases ? { validationOptions: { cases: dataset.testCases } } : {}),
      signal: controller.signal,
      checkpoint: { path: runFiles(ctx.dir).checkpoint, everyEpochs: 1 },
      onProgress: (event) => {
        const seconds = (Date.now() - started) / 1000;
        if (event.type === 'step') {
          const batch = batchOf(settings, n, event.step, stepsPerEpoch);
          throughput.add(batch, event);
          terms.add(batch, event.terms);
          metrics.write({ ...event, seconds });
          reporter.step(event);
        } else if (event.type === 'epoch') {
          metrics.write({ ...epochRecord(event, terms.take()), seconds });
          reporter.epoch(event, settings.epochs);
        }
      },
    });
    return 'done';
  } catch (error) {
    if ((error as Error).name === 'AbortError') return 'interrupted';
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    reporter.stop();
  }
}

function epochRecord(event: EpochEvent, terms: readonly number[]): Record<string, unknown> {
  const m = event.metrics;
  const test = m ? { meanDice: m.meanDice, perClassDice: m.perClassDice, meanIoU: m.meanIoU, perClassIoU: m.perClassIoU, loss: m.loss } : null;
  return { type: 'epoch', epoch: event.epoch, loss: event.loss, terms, test };
}

function foregroundMean(values: readonly number[], background: boolean): number {
  const fg = values.slice(background ? 1 : 0).filter((v) => Number.isFinite(v));
  return fg.length ? fg.reduce((a, b) => a + b, 0) / fg.length : NaN;
}

/** Per-class Dice pooled over the set, from the pooled IoU: D = 2·J / (1 + J). */
export function pooledDiceOf(perClassIoU: readonly number[]): number[] {
  return perClassIoU.map((j) => (Number.isFinite(j) ? (2 * j) / (1 + j) : NaN));
}

function meanOfFinite(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
}

function summaryOf(ctx: RunContext, evaluation: Evaluation, throughput: Throughput, trainSeconds: number, environment: Environment): RunSummary {
  return {
    format: RUN_SUMMARY_FORMAT,
    dataset: ctx.settings.dataset,
    ...metricsOf(evaluation, ctx.dataset),
    epochs: ctx.trainer.epoch,
    steps: ctx.trainer.step,
    imagesPerSecond: throughput.imagesPerSecond,
    trainSeconds,
    parameterCount: ctx.trainer.parameterCount,
    device: ctx.settings.device,
    threads: ctx.trainer.threads,
    environment,
  };
}

function cell(x: number | undefined, digits: number): string {
  return (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits)).padStart(7);
}

/** The metrics of an evaluation, as returned by `metricsOf`. */
export type MetricsSummary = Pick<
  RunSummary,
  'classNames' | 'meanDice' | 'meanForegroundDice' | 'perClassDice' | 'perClassPooledDice' | 'meanPooledDice' | 'meanIoU' | 'perClassIoU' | 'hd95' | 'perClassHd95' | 'testImages' | 'testCases'
>;

/** The summary's metrics of an evaluation (pooled Dice and the foreground mean added). */
export function metricsOf(evaluation: Evaluation, dataset: SegmentationDataset): MetricsSummary {
  const pooled = pooledDiceOf(evaluation.perClassIoU);
  return {
    classNames: dataset.classNames,
    meanDice: evaluation.meanDice,
    meanForegroundDice: foregroundMean(evaluation.perClassDice, dataset.background !== false),
    perClassDice: evaluation.perClassDice,
    perClassPooledDice: pooled,
    meanPooledDice: meanOfFinite(pooled),
    meanIoU: evaluation.meanIoU,
    perClassIoU: evaluation.perClassIoU,
    ...(evaluation.hd95 === undefined ? {} : { hd95: evaluation.hd95, perClassHd95: evaluation.perClassHd95 }),
    testImages: evaluation.images,
    testCases: evaluation.cases,
  };
}

/** The per-class table and the means. */
export function metricsText(m: MetricsSummary): string[] {
  const width = Math.max(...m.classNames.map((c) => c.length), 5) + 2;
  const hd = m.perClassHd95;
  return [
    `${'class'.padEnd(width)}   Dice  pooled     IoU${hd ? '    HD95' : ''}`,
    ...m.classNames.map(
      (name, c) => `${name.padEnd(width)}${cell(m.perClassDice[c], 4)} ${cell(m.perClassPooledDice[c], 4)} ${cell(m.perClassIoU[c], 4)}${hd ? ' ' + cell(hd[c], 2) : ''}`,
    ),
    `mean Dice ${m.meanDice.toFixed(4)} (per image, TransUNet's policy; foreground classes: ${m.meanForegroundDice.toFixed(4)}), ` +
      `pooled over the test set ${m.meanPooledDice.toFixed(4)}, mean IoU ${m.meanIoU.toFixed(4)}` +
      (m.hd95 === undefined ? '' : `, HD95 ${m.hd95.toFixed(2)} px`),
  ];
}

/** The result table printed at the end. */
export function resultText(summary: RunSummary, dir: string): string {
  const lines = [
    `${summary.dataset} test split: ${summary.testImages} images; ${summary.epochs} epochs, ${summary.parameterCount.toLocaleString('en-US')} parameters, ` +
      `${summary.trainSeconds.toFixed(0)} s of training at ${summary.imagesPerSecond.toFixed(1)} images/s on ${summary.device} (${summary.threads} ${summary.threads === 1 ? 'thread' : 'threads'})`,
    ...metricsText(summary),
    `run folder: ${dir} (config.json, summary.json, metrics.jsonl, checkpoint.pt, report.html)`,
  ];
  return lines.join('\n') + '\n';
}

/** How many test images the report shows. */
const REPORT_SAMPLES = 8;

async function writeReport(ctx: RunContext, summary: RunSummary): Promise<void> {
  const samples = firstImages(ctx.dataset.test, REPORT_SAMPLES);
  const predictions = await ctx.trainer.predict(samples.images, samples.shape);
  ctx.metrics.flush();
  await writeRunReport(ctx.dir, {
    config: readRunConfig(ctx.dir),
    summary,
    metrics: readMetrics(runFiles(ctx.dir).metrics),
    samples: { images: samples.images, targets: samples.masks, predictions, shape: samples.shape },
    ...(ctx.dataset.ignoreIndex === undefined ? {} : { ignoreIndex: ctx.dataset.ignoreIndex }),
  });
}

/** Settings and Trainer for a new run, or those of the run being resumed. */
async function openRun(flags: TrainFlags, argv: readonly string[]): Promise<{ dir: string; settings: TrainSettings; dataset: SegmentationDataset; trainer: Trainer }> {
  if (flags.resume) {
    if (flags.out === undefined) throw new UsageError('--resume: needs --out DIR, the folder of the run to continue');
    const config = readRunConfig(flags.out);
    const epochs = flags.epochs === undefined ? config.settings.epochs : parseInteger(flags.epochs, '--epochs', 1, 100_000);
    const settings = { ...config.settings, epochs };
    const checkpoint = runFiles(flags.out).checkpoint;
    if (!fs.existsSync(checkpoint)) throw new UsageError(`--resume: ${checkpoint} is missing (the run stopped before its first checkpoint)`);
    const dataset = await prepareDataset(settings);
    const trainer = await Trainer.load(checkpoint, { device: settings.device, ...optionalThreads(settings) });
    writeJson(runFiles(flags.out).config, { ...config, settings });
    return { dir: flags.out, settings, dataset, trainer };
  }
  const settings = resolveTrainSettings(flags);
  const dir = flags.out ?? defaultRunDir(settings);
  if (fs.existsSync(runFiles(dir).checkpoint)) {
    throw new UsageError(`--out: ${dir} already holds a run (checkpoint.pt); continue it with --resume or choose another folder`);
  }
  const dataset = await prepareDataset(settings);
  const [, inChannels, h] = dataset.train.shape;
  const stepsPerEpoch = Math.ceil(dataset.train.shape[0] / settings.batchSize);
  const options = trainerOptionsOf(settings, {
    inChannels,
    numClasses: dataset.classNames.length,
    imageSize: h,
    ignoreIndex: dataset.ignoreIndex,
    stepsPerEpoch,
  });
  const trainer = await Trainer.create(options);
  fs.mkdirSync(dir, { recursive: true });
  const config: RunConfig = { format: RUN_CONFIG_FORMAT, command: ['segloss', 'train', ...argv], settings, trainer: trainer.options };
  writeJson(runFiles(dir).config, config);
  return { dir, settings, dataset, trainer };
}

/** `segloss train` with parsed flags; resolves to the exit code. */
export async function train(flags: TrainFlags, argv: readonly string[]): Promise<number> {
  const mode = progressMode(flags);
  const reporter = createReporter(mode);
  const { dir, settings, dataset, trainer } = await openRun(flags, argv);
  const files = runFiles(dir);
  const metrics = new MetricsLog(files.metrics);
  const ctx: RunContext = { dir, settings, dataset, trainer, reporter, metrics };
  try {
    reporter.record({ type: 'run', dir, settings, parameterCount: trainer.parameterCount, trainImages: dataset.train.shape[0], testImages: dataset.test.shape[0] });
    reporter.note(`segloss train: ${settings.model} on ${settings.dataset} (${dataset.train.shape[0]} train, ${dataset.test.shape[0]} test images), ${trainer.parameterCount.toLocaleString('en-US')} parameters → ${dir}`);
    const throughput = new Throughput();
    const started = Date.now();
    const outcome = await fitRun(ctx, throughput);
    const trainSeconds = (Date.now() - started) / 1000;
    if (outcome === 'interrupted') {
      const text = `segloss train: interrupted at epoch ${trainer.epoch + 1}, step ${trainer.step}; checkpoint written to ${files.checkpoint}; continue with: segloss train --out ${dir} --resume`;
      if (mode === 'json') reporter.record({ type: 'interrupted', epoch: trainer.epoch, step: trainer.step, checkpoint: files.checkpoint });
      else process.stderr.write(text + '\n');
      return 130;
    }
    await trainer.save(files.checkpoint);
    const evaluation = await trainer.evaluate(dataset.test, { hd95: dataset.hd95, ...(dataset.testCases ? { cases: dataset.testCases } : {}) });
    const summary = summaryOf(ctx, evaluation, throughput, trainSeconds, environmentOf(settings.device));
    writeJson(files.summary, summary);
    await writeReport(ctx, summary);
    if (mode === 'json') reporter.record({ type: 'summary', ...summary });
    else process.stdout.write(resultText(summary, dir));
    return 0;
  } finally {
    metrics.close();
    trainer.dispose();
  }
}

export const trainCommand: Command = commanderCommand({
  name: 'train',
  summary: 'Train a model (default: a small UNet on the built-in fashion-seg, CPU) and print per-class and mean Dice',
  usage: '[options]',
  program: trainProgram,
  run: (program, args) => train(explicitOptions(program), args),
});
