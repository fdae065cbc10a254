/**
 * A training run's folder (`--out`):
 * - `config.json`: the settings and the resolved Trainer options: everything needed to rerun;
 * - `metrics.jsonl`: one JSON line per step and per epoch (appended to on `--resume`);
 * - `checkpoint.pt`: the Trainer checkpoint (every epoch, on Ctrl-C, and at the end);
 * - `summary.json`: the test metrics and the run's facts (see {@link RunSummary});
 * - `report.html`: plots, per-class metrics, qualitative predictions (src/report/).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { packageRoot } from '../native/core';
import { torchInfo } from '../torch/index';
import type { ResolvedTrainerOptions } from '../trainer/config';
import { jsonLine } from './progress';
import type { TrainSettings } from './train-options';

export const RUN_CONFIG_FORMAT = 'segloss-run-config/1';
export const RUN_SUMMARY_FORMAT = 'segloss-run-summary/1';

/** The files of a run folder. */
export function runFiles(dir: string): { config: string; metrics: string; checkpoint: string; summary: string; report: string } {
  return {
    config: path.join(dir, 'config.json'),
    metrics: path.join(dir, 'metrics.jsonl'),
    checkpoint: path.join(dir, 'checkpoint.pt'),
    summary: path.join(dir, 'summary.json'),
    report: path.join(dir, 'report.html'),
  };
}

/** config.json. */
export interface RunConfig {
  readonly format: typeof RUN_CONFIG_FORMAT;
  /** The command line that started the run. */
  readonly command: readonly string[];
  readonly settings: TrainSettings;
  /** What `Trainer.create` resolved them to. */
  readonly trainer: ResolvedTrainerOptions;
}

/** Versions and machine, for the summary and the report. */
export interface Environment {
  readonly segloss: string;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cpus: number;
  readonly libtorch: string;
  readonly device: string;
  readonly deviceNames: readonly string[];
}

/** summary.json. */
export interface RunSummary {
  readonly format: typeof RUN_SUMMARY_FORMAT;
  readonly dataset: string;
  readonly classNames: readonly string[];
  /** Mean over classes (background included) of the per-class Dice (TransUNet's per-case policy). */
  readonly meanDice: number;
  /** Mean over the foreground classes (1..K−1; all classes for datasets without a background class, e.g. Cityscapes). */
  readonly meanForegroundDice: number;
  readonly perClassDice: readonly number[];
  /**
   * Dice pooled over the test set's pixels, per class: 2 Σ|P∩G| / (Σ|P| + Σ|G|), which is
   * 2·IoU / (1 + IoU) of the pooled IoU (a class predicted in a few pixels of an image where it is
   * absent costs little here, a 0 for that image in perClassDice).
   */
  readonly perClassPooledDice: readonly number[];
  /** Mean of perClassPooledDice over the classes that occur (background included). */
  readonly meanPooledDice: number;
  readonly meanIoU: number;
  readonly perClassIoU: readonly number[];
  /** Where the dataset reports it (TransUNet's HD95 in pixels, mean over foreground classes). */
  readonly hd95?: number;
  readonly perClassHd95?: readonly number[];
  readonly testImages: number;
  readonly testCases: number;
  readonly epochs: number;
  readonly steps: number;
  /** Training images per second over the steps of this invocation. */
  readonly imagesPerSecond: number;
  /** Wall time of this invocation's training (seconds; evaluation excluded). */
  readonly trainSeconds: number;
  readonly parameterCount: number;
  readonly device: string;
  /** The trainer's CPU threads (Trainer.threads). */
  readonly threads: number;
  readonly environment: Environment;
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export function environmentOf(device: string): Environment {
  const info = torchInfo();
  const cpus = os.cpus();
  return {
    segloss: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism(),
    libtorch: info.torchVersion,
    device,
    deviceNames: device.startsWith('cuda') ? info.deviceNames : [],
  };
}

/** Writes `value` as pretty JSON (NaN → null), through a temporary file renamed into place. */
export function writeJson(file: string, value: unknown): void {
  const text = JSON.stringify(JSON.parse(jsonLine(value)), null, 2) + '\n';
  fs.writeFileSync(file + '.tmp', text);
  fs.renameSync(file + '.tmp', file);
}

export function readRunConfig(dir: string): RunConfig {
  const file = runFiles(dir).config;
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: --resume needs the folder of an earlier run (--out)`);
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as RunConfig;
  if (config.format !== RUN_CONFIG_FORMAT) throw new Error(`${file}: format ${JSON.stringify(config.format)}, expected '${RUN_CONFIG_FORMAT}'`);
  return config;
}

/** Appends JSON lines to metrics.jsonl. */
export class MetricsLog {
  readonly #fd: number;
  constructor(file: string) {
    this.#fd = fs.openSync(file, 'a');
  }
  write(value: Record<string, unknown>): void {
    fs.writeSync(this.#fd, jsonLine(value) + '\n');
  }
  /** Makes what was written visible to readers of the file. */
  flush(): void {
    fs.fsyncSync(this.#fd);
  }
  close(): void {
    fs.closeSync(this.#fd);
  }
}

/** The default `--out`: runs/<dataset>-<model>-<UTC time>. */
export function defaultRunDir(settings: TrainSettings, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const dataset = settings.dataset.split(':')[0];
  const model = settings.model.replace(/:/g, '');
  return path.join('runs', `${dataset}-${model}-${stamp}`);
}
