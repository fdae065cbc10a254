/**
 * `segloss sweep`: the survey's experiments as one command. Trains every combination of
 * `--losses` × `--models` × `--lrs` with the survey's protocol (objective 0.5·L + 0.5·CE, or the
 * loss alone for inverseform and boundary-aware, as `segloss train` by default; SGD
 * lr 0.01 with the poly schedule, batch 8; epochs configurable), one `segloss train` run folder
 * per cell under `--out` (a cell whose summary.json exists is not run again), and writes the
 * tables of the survey's Tables 3–5 — per-class DSC, mean DSC, HD95 and mIoU per cell — as
 * results.md and results.csv.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command as Commander } from 'commander';

import { type Command, commanderCommand } from './command';
import type { RunSummary } from './run-dir';
import { train } from './train';
import { parseLoss, parseModel, parseNumber, parseInteger, resolveTrainSettings } from './train-options';

export interface SweepCell {
  readonly loss: string;
  readonly model: string;
  readonly lr: number;
  readonly dir: string;
}

/** The folder name of a cell: its loss, model and lr, with characters a path cannot hold replaced. */
export function cellDir(out: string, loss: string, model: string, lr: number): string {
  return path.join(out, `${loss}__${model}__lr${lr}`.replace(/[^A-Za-z0-9._=-]/g, '_'));
}

function fmt(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

/** Table 3/4 (DSC per class, mean DSC, HD95) and Table 5 (mIoU) as Markdown, and every number as CSV. */
export function sweepTables(cells: readonly { cell: SweepCell; summary: RunSummary }[]): { markdown: string; csv: string } {
  const names = cells[0].summary.classNames;
  const classIndex = names.map((_, c) => c).filter((c) => c > 0 || cells[0].summary.dataset.startsWith('cityscapes'));
  const hd = cells.some((x) => x.summary.hd95 !== undefined);
  const head = ['loss', 'model', 'lr', ...classIndex.map((c) => names[c]), 'mean DSC', 'pooled DSC (all classes)', ...(hd ? ['HD95'] : []), 'mIoU'];
  const md = [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...cells.map(({ cell, summary: s }) => {
      const cols = [
        `\`${cell.loss}\``, cell.model, String(cell.lr),
        ...classIndex.map((c) => fmt(100 * s.perClassDice[c], 2)),
        fmt(100 * s.meanForegroundDice, 2), fmt(100 * s.meanPooledDice, 2),
        ...(hd ? [fmt(s.hd95, 2)] : []),
        fmt(100 * s.meanIoU, 2),
      ];
      return `| ${cols.join(' | ')} |`;
    }),
  ];
  const dataset = cells[0].summary.dataset;
  const markdown = [
    `Sweep on \`${dataset}\` (${cells[0].summary.testImages} test images; ${cells[0].summary.epochs} epochs per cell).`,
    'DSC per class and mean DSC (foreground classes; per image, TransUNet\'s policy) and pooled DSC in %, HD95 in pixels, mIoU in % (pooled over the test set).',
    '',
    ...md,
    '',
  ].join('\n');
  const csvHead = ['loss', 'model', 'lr', 'epochs', ...names.map((n) => `dice_${n}`), 'mean_dice_foreground', 'mean_dice', 'mean_pooled_dice', 'hd95', ...names.map((n) => `iou_${n}`), 'mean_iou', 'images_per_second'];
  const q = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const num = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '' : String(x));
  const csv = [
    csvHead.map(q).join(','),
    ...cells.map(({ cell, summary: s }) =>
      [q(cell.loss), q(cell.model), num(cell.lr), num(s.epochs), ...s.perClassDice.map(num), num(s.meanForegroundDice), num(s.meanDice), num(s.meanPooledDice), num(s.hd95), ...s.perClassIoU.map(num), num(s.meanIoU), num(s.imagesPerSecond)].join(','),
    ),
  ].join('\n') + '\n';
  return { markdown, csv };
}

function sweepProgram(): Commander {
  return new Commander('sweep')
    .description("Train a grid of losses × models × learning rates with the survey's protocol; write its tables")
    .option('--dataset <spec>', 'as for train', 'fashion-seg')
    .option('--losses <list>', 'comma-separated --loss specs (a spec with options: ID:k=v;k=v)', 'dice,focal,jaccard,tversky,focal-tversky,log-cosh-dice')
    .option('--models <list>', 'comma-separated --model specs', 'unet:8')
    .option('--lrs <list>', 'comma-separated learning rates (SGD)', '0.01')
    .option('--epochs <n>', 'epochs per cell', '2')
    .option('--batch-size <n>', 'images per step', '8')
    .option('--image-size <n>', 'as for train')
    .option('--train-limit <n>', 'train on the first n training images')
    .option('--test-limit <n>', 'evaluate on the first n test images')
    .option('--seed <n>', 'the same seed for every cell', '0')
    .option('--out <dir>', 'the sweep folder (a run folder per cell, results.md, results.csv)', 'runs/sweep')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
}

interface SweepFlags {
  dataset: string;
  losses: string;
  models: string;
  lrs: string;
  epochs: string;
  batchSize: string;
  imageSize?: string;
  trainLimit?: string;
  testLimit?: string;
  seed: string;
  out: string;
}

/** Runs the grid; resolves to the exit code. */
async function sweep(o: SweepFlags, argv: readonly string[]): Promise<number> {
  // Options inside a loss spec are separated by ';' here, since ',' separates the losses.
  const losses = o.losses.split(',').map((s) => s.trim().replace(/;/g, ','));
  const models = o.models.split(',').map((s) => s.trim());
  const lrs = o.lrs.split(',').map((s) => parseNumber(s, '--lrs', 'finite numbers > 0', (x) => x > 0));
  losses.forEach((l) => parseLoss(l));
  models.forEach((m) => parseModel(m, 1, 2, 224));
  parseInteger(o.epochs, '--epochs', 1, 100_000);
  // every cell's loss × model combination, before any cell trains (e.g. conditional-boundary needs a unet)
  for (const model of models) for (const loss of losses) resolveTrainSettings({ loss, model });
  const done: { cell: SweepCell; summary: RunSummary }[] = [];
  const total = losses.length * models.length * lrs.length;
  for (const model of models) {
    for (const loss of losses) {
      for (const lr of lrs) {
        const cell: SweepCell = { loss, model, lr, dir: cellDir(o.out, loss, model, lr) };
        const summaryFile = path.join(cell.dir, 'summary.json');
        if (!fs.existsSync(summaryFile)) {
          fs.rmSync(cell.dir, { recursive: true, force: true });
          const code = await train(
            {
              dataset: o.dataset, model, loss, optimizer: 'sgd', lr: String(lr), epochs: o.epochs, batchSize: o.batchSize, seed: o.seed,
              ...(o.imageSize ? { imageSize: o.imageSize } : {}), ...(o.trainLimit ? { trainLimit: o.trainLimit } : {}), ...(o.testLimit ? { testLimit: o.testLimit } : {}),
              out: cell.dir, quiet: true,
            },
            argv,
          );
          if (code !== 0) return code;
        }
        const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as RunSummary;
        done.push({ cell, summary });
        process.stdout.write(`[${done.length}/${total}] ${loss} · ${model} · lr ${lr}: mean DSC ${fmt(summary.meanForegroundDice, 4)}, mIoU ${fmt(summary.meanIoU, 4)} (${cell.dir})\n`);
      }
    }
  }
  const { markdown, csv } = sweepTables(done);
  fs.writeFileSync(path.join(o.out, 'results.md'), `Command: \`segloss sweep ${argv.join(' ')}\`\n\n${markdown}`);
  fs.writeFileSync(path.join(o.out, 'results.csv'), csv);
  process.stdout.write(markdown + `\nsegloss sweep: ${path.join(o.out, 'results.md')}, ${path.join(o.out, 'results.csv')}\n`);
  return 0;
}

export const sweepCommand: Command = commanderCommand({
  name: 'sweep',
  summary: "Train a grid of losses × models × learning rates (survey protocol) and write Tables 3–5 as Markdown and CSV",
  usage: '[--losses L1,L2] [--models M1,M2] [--lrs X,Y] [--epochs N] [--out DIR] [options]',
  program: sweepProgram,
  run: (program, args) => sweep(program.opts<SweepFlags>(), args),
});
