/**
 * `segloss check --dataset SPEC [--image-size N] [--json]`: reads and checks a whole dataset as
 * `segloss train` would, and prints what it holds (splits, shapes, classes with their pixel
 * counts, volumes). A bad file: the message names it and says what is wrong, exit code 2.
 */
import { Command as Commander } from 'commander';

import { type SegmentationDataset, loadDataset } from '../datasets/index';
import type { TrainingData } from '../trainer/types';
import { type Command, commanderCommand } from './command';
import { jsonLine } from './progress';
import { parseInteger } from './train-options';

function checkProgram(): Commander {
  return new Commander('check')
    .description('Read and check a dataset; print its splits and classes')
    .requiredOption('--dataset <spec>', 'fashion-seg, synapse:DIR, cityscapes:DIR or folder:DIR')
    .option('--image-size <n>', 'resize to n × n as train would (default: as train)')
    .option('--json', 'print the result as JSON')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
}

/** Pixels per label (index = label; the ignore label counted separately). */
function pixelCounts(split: TrainingData, classes: number, ignoreIndex?: number): { counts: number[]; ignored: number } {
  const counts = new Array<number>(classes).fill(0);
  let ignored = 0;
  for (const label of split.masks) {
    if (label === ignoreIndex) ignored++;
    else counts[label]++;
  }
  return { counts, ignored };
}

/** What `check` reports about a dataset. */
export function describeDataset(data: SegmentationDataset): Record<string, unknown> {
  const K = data.classNames.length;
  const split = (s: TrainingData) => ({ shape: s.shape, ...pixelCounts(s, K, data.ignoreIndex) });
  return {
    ok: true,
    dataset: data.spec,
    classNames: data.classNames,
    ignoreIndex: data.ignoreIndex ?? null,
    train: split(data.train),
    test: { ...split(data.test), volumes: data.testCases ?? null },
    provenance: data.provenance,
  };
}

function describeText(d: Record<string, unknown>): string {
  const train = d.train as { shape: number[]; counts: number[]; ignored: number };
  const test = d.test as { shape: number[]; counts: number[]; ignored: number; volumes: number[] | null };
  const names = d.classNames as string[];
  const width = Math.max(...names.map((n) => n.length), 5) + 2;
  const lines = [
    `${d.dataset as string}: ${d.provenance as string}`,
    `train: ${train.shape[0]} images of [${train.shape.slice(1).join(', ')}]`,
    `test:  ${test.shape[0]} images of [${test.shape.slice(1).join(', ')}]${test.volumes ? ` in ${test.volumes.length} volumes` : ''}`,
    `${'class'.padEnd(width)}${'train px'.padStart(12)}${'test px'.padStart(12)}`,
    ...names.map((n, c) => `${n.padEnd(width)}${String(train.counts[c]).padStart(12)}${String(test.counts[c]).padStart(12)}`),
  ];
  if (d.ignoreIndex !== null) lines.push(`${`ignored (${d.ignoreIndex as number})`.padEnd(width)}${String(train.ignored).padStart(12)}${String(test.ignored).padStart(12)}`);
  lines.push('segloss check: every file reads and every label is valid');
  return lines.join('\n') + '\n';
}

export const checkCommand: Command = commanderCommand({
  name: 'check',
  summary: 'Read and check a dataset (every file, every label) and print its splits and classes',
  usage: '--dataset <spec> [--image-size N] [--json]',
  program: checkProgram,
  async run(program) {
    const o = program.opts<{ dataset: string; imageSize?: string; json?: boolean }>();
    const imageSize = o.imageSize === undefined ? undefined : parseInteger(o.imageSize, '--image-size', 16, 8192);
    const data = await loadDataset(o.dataset, imageSize === undefined ? {} : { imageSize });
    const d = describeDataset(data);
    process.stdout.write(o.json ? jsonLine(d) + '\n' : describeText(d));
    return 0;
  },
  onUsageError(program, error) {
    if (program.opts<{ json?: boolean }>().json) {
      process.stdout.write(jsonLine({ ok: false, error: error.message, file: (error as { file?: string }).file ?? null }) + '\n');
    }
  },
});
