/**
 * `segloss eval --run DIR | --checkpoint FILE [--dataset SPEC] [--image-size N] [--test-limit N]
 * [--json]`: evaluates a trained model on a dataset's test split (per-class Dice per image and
 * pooled, IoU, HD95 where the dataset reports it), as `train` does at its end. With `--run`, the
 * dataset and image size default to the run's config.json.
 */
import * as fs from 'node:fs';

import { Command as Commander } from 'commander';

import { Trainer } from '../trainer/trainer';
import { type Command, commanderCommand } from './command';
import { jsonLine } from './progress';
import { type RunConfig, readRunConfig, runFiles } from './run-dir';
import { metricsOf, metricsText, prepareDataset } from './train';
import { UsageError, parseInteger } from './train-options';

function evalProgram(): Commander {
  return new Commander('eval')
    .description("Evaluate a trained model on a dataset's test split")
    .option('--run <dir>', 'a train run folder (its checkpoint.pt and config.json)')
    .option('--checkpoint <file>', 'a Trainer checkpoint (needs --dataset)')
    .option('--dataset <spec>', "the data (default: the run's)")
    .option('--image-size <n>', "resize to n × n (default: the run's)")
    .option('--test-limit <n>', "the first n test images only (default: the run's)")
    .option('--device <device>', 'cpu, cuda or cuda:N (default: the checkpoint\'s)')
    .option('--json', 'print the metrics as JSON')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
}

interface EvalFlags {
  run?: string;
  checkpoint?: string;
  dataset?: string;
  imageSize?: string;
  testLimit?: string;
  device?: string;
  json?: boolean;
}

/** The checkpoint of `--run DIR` or `--checkpoint FILE`, and the run's config (null for a bare checkpoint). */
export function checkpointOf(o: { run?: string; checkpoint?: string }): { checkpoint: string; config: RunConfig | null } {
  if ((o.run === undefined) === (o.checkpoint === undefined)) throw new UsageError('--run: give either --run DIR or --checkpoint FILE');
  const config = o.run === undefined ? null : readRunConfig(o.run);
  const checkpoint = o.checkpoint ?? runFiles(o.run as string).checkpoint;
  if (!fs.existsSync(checkpoint)) throw new UsageError(`--checkpoint: ${checkpoint} is missing`);
  return { checkpoint, config };
}

/** The checkpoint and the dataset settings of `--run` / `--checkpoint` + `--dataset`. */
function modelAndData(o: { run?: string; checkpoint?: string; dataset?: string; imageSize?: string; testLimit?: string }): {
  checkpoint: string;
  dataset: string;
  imageSize: number | null;
  testLimit: number | null;
} {
  const { checkpoint, config } = checkpointOf(o);
  const dataset = o.dataset ?? config?.settings.dataset;
  if (dataset === undefined) throw new UsageError('--dataset: needed with --checkpoint (a run folder records its own)');
  const imageSize = o.imageSize === undefined ? (config?.settings.imageSize ?? null) : parseInteger(o.imageSize, '--image-size', 16, 8192);
  const testLimit = o.testLimit === undefined ? (config?.settings.testLimit ?? null) : parseInteger(o.testLimit, '--test-limit', 1);
  return { checkpoint, dataset, imageSize, testLimit };
}

async function evaluateCommand(o: EvalFlags): Promise<number> {
  const { checkpoint, dataset: spec, imageSize, testLimit } = modelAndData(o);
  const dataset = await prepareDataset({ dataset: spec, imageSize, trainLimit: 1, testLimit });
  const trainer = await Trainer.load(checkpoint, o.device === undefined ? {} : { device: o.device as 'cpu' });
  try {
    const evaluation = await trainer.evaluate(dataset.test, { hd95: dataset.hd95, ...(dataset.testCases ? { cases: dataset.testCases } : {}) });
    const m = { dataset: spec, checkpoint, ...metricsOf(evaluation, dataset) };
    if (o.json) process.stdout.write(jsonLine(m) + '\n');
    else process.stdout.write([`${spec} test split: ${m.testImages} images (${m.testCases} cases), ${checkpoint}`, ...metricsText(m)].join('\n') + '\n');
    return 0;
  } finally {
    trainer.dispose();
  }
}

export const evalCommand: Command = commanderCommand({
  name: 'eval',
  summary: "Evaluate a trained model (a run folder or a checkpoint) on a dataset's test split",
  usage: '--run DIR | --checkpoint FILE --dataset SPEC [--image-size N] [--test-limit N] [--json]',
  program: evalProgram,
  run: (program) => evaluateCommand(program.opts<EvalFlags>()),
});
