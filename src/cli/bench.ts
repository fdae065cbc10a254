/**
 * `segloss bench [--losses IDS] [--shape B,C,H,W] [--dtype float32|float64] [--iterations N]
 * [--cold] [--train] [--json]`: times every loss on this machine — value and gradient through
 * `computeLoss`, into a reused gradient buffer, median of N calls after a warm-up — and, with
 * `--train`, the native trainer's images per second for a small UNet. It measures segloss alone;
 * the comparisons with PyTorch, scipy and plain C loops are the repository's bench/ scripts.
 *
 * @example
 * ```sh
 * npx segloss bench                                  # the 22 combinable losses at 4×9×128×128, float32
 * npx segloss bench --losses dice,boundary --cold    # the boundary maps recomputed every call
 * npx segloss bench --shape 8,9,224,224 --train --json
 * ```
 */
import { Command as Commander } from 'commander';

import { computeLoss } from '../compute';
import { combinableLossNames } from '../losses/registry';
import { coreAddon, cpuEngineInfo } from '../native/core';
import { Trainer } from '../trainer/trainer';
import { torchAvailable } from '../torch/index';
import type { LogitsArray, LossName, LossShape } from '../types';
import { type Command, commanderCommand } from './command';
import { jsonLine } from './progress';
import { UsageError, parseInteger } from './train-options';

function benchProgram(): Commander {
  return new Commander('bench')
    .description('Time every loss (value + gradient) and, with --train, training on this machine')
    .option('--losses <ids>', 'comma-separated loss ids (default: every combinable loss)')
    .option('--shape <b,c,h,w>', 'logits shape', '4,9,128,128')
    .option('--dtype <type>', 'float32 or float64', 'float32')
    .option('--iterations <n>', 'timed calls per loss (the median is reported)', '5')
    .option('--cold', 'clear the target-map cache before every call (the boundary maps are recomputed)')
    .option('--train', 'also time training steps of a UNet (base 16, 64×64, batch 8; needs the torch addon)')
    .option('--json', 'print JSON lines')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
}

interface BenchFlags {
  losses?: string;
  shape: string;
  dtype: string;
  iterations: string;
  cold?: boolean;
  train?: boolean;
  json?: boolean;
}

/** One loss's timing, or why it could not run at this shape. */
export interface LossTiming {
  readonly loss: LossName;
  readonly ms?: number;
  readonly megapixelsPerSecond?: number;
  readonly error?: string;
}

function parseShape(text: string): LossShape {
  const parts = text.split(',');
  if (parts.length !== 4) throw new UsageError(`--shape: expected B,C,H,W but received '${text}'`);
  const [b, c, h, w] = parts.map((p, i) => parseInteger(p, `--shape[${i}]`, 1, 1 << 16));
  if (b * c * h * w > 1 << 28) throw new UsageError(`--shape: expected at most 2^28 logits but received ${b * c * h * w}`);
  return [b, c, h, w];
}

function parseLosses(text: string | undefined): LossName[] {
  if (text === undefined) return [...combinableLossNames];
  return text.split(',').map((id) => {
    if (!(combinableLossNames as readonly string[]).includes(id)) {
      throw new UsageError(`--losses: expected ids of ${combinableLossNames.join(', ')} but received '${id}'`);
    }
    return id as LossName;
  });
}

// xorshift32 in [0, 1), seeded: the same workload on every run.
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

/**
 * The benchmark's input: each pixel takes the class of the nearest of 3·C random points of its
 * image (regions with boundaries, as the boundary losses need), logits = noise + 1.5 on that class.
 */
export function benchWorkload(shape: LossShape, dtype: 'float32' | 'float64'): { logits: LogitsArray; target: Uint8Array | Uint16Array } {
  const [batch, channels, height, width] = shape;
  const next = random(7);
  const n = height * width;
  const target = channels <= 256 ? new Uint8Array(batch * n) : new Uint16Array(batch * n);
  const logits = dtype === 'float64' ? new Float64Array(batch * channels * n) : new Float32Array(batch * channels * n);
  const classes = channels === 1 ? 2 : channels;
  for (let b = 0; b < batch; ++b) {
    const points = Array.from({ length: 3 * classes }, (_, k) => [next() * height, next() * width, k % classes]);
    for (let y = 0; y < height; ++y) {
      for (let x = 0; x < width; ++x) {
        let best = Infinity;
        let label = 0;
        for (const [py, px, k] of points) {
          const d = (py - y) ** 2 + (px - x) ** 2;
          if (d < best) [best, label] = [d, k];
        }
        target[b * n + y * width + x] = label;
      }
    }
  }
  for (let b = 0; b < batch; ++b) {
    for (let c = 0; c < channels; ++c) {
      for (let i = 0; i < n; ++i) {
        const onTarget = channels === 1 ? target[b * n + i] === 1 : target[b * n + i] === c;
        logits[(b * channels + c) * n + i] = 2 * next() - 1 + (onTarget ? 1.5 : 0);
      }
    }
  }
  return { logits, target };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Times `loss` on the workload: median ms of `iterations` calls after one warm-up call. */
export function timeLoss(
  loss: LossName,
  input: { logits: LogitsArray; target: Uint8Array | Uint16Array; shape: LossShape },
  iterations: number,
  cold: boolean,
): LossTiming {
  const gradOut = input.logits instanceof Float64Array ? new Float64Array(input.logits.length) : new Float32Array(input.logits.length);
  const call = (): number => {
    if (cold) coreAddon().targetMapCacheInfo(true);
    const start = process.hrtime.bigint();
    computeLoss(loss, input, { grad: true, gradOut });
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  try {
    call();
    const ms = median(Array.from({ length: iterations }, call));
    const pixels = input.shape[0] * input.shape[2] * input.shape[3];
    return { loss, ms, megapixelsPerSecond: pixels / (ms * 1e3) };
  } catch (error) {
    return { loss, error: (error as Error).message };
  }
}

/** Images per second of a UNet (base 16) training on random 64×64 data: the median of steps 3–7 of one epoch of 8 batches. */
async function timeTraining(): Promise<{ imagesPerSecond: number; steps: number }> {
  const [n, size, classes] = [64, 64, 4];
  const next = random(11);
  const images = Float32Array.from({ length: n * size * size }, () => next());
  const masks = Uint8Array.from({ length: n * size * size }, (_, i) => Math.floor(images[i] * classes));
  const trainer = await Trainer.create({ model: { name: 'unet', inChannels: 1, numClasses: classes, baseChannels: 16 }, device: 'cpu', seed: 0 });
  try {
    const rates: number[] = [];
    await trainer.fit(
      { images, masks, shape: [n, 1, size, size] },
      { epochs: 1, batchSize: 8, onProgress: (e) => e.type === 'step' && e.step > 2 && rates.push(e.imagesPerSecond) },
    );
    return { imagesPerSecond: median(rates), steps: rates.length };
  } finally {
    trainer.dispose();
  }
}

function tableOf(rows: readonly LossTiming[]): string {
  const width = Math.max(...rows.map((r) => r.loss.length), 4) + 2;
  const lines = [`${'loss'.padEnd(width)}${'ms'.padStart(10)}${'Mpx/s'.padStart(10)}`];
  for (const r of rows) {
    lines.push(r.error !== undefined ? `${r.loss.padEnd(width)}  n/a: ${r.error}` : `${r.loss.padEnd(width)}${r.ms!.toFixed(2).padStart(10)}${r.megapixelsPerSecond!.toFixed(1).padStart(10)}`);
  }
  return lines.join('\n') + '\n';
}

export const benchCommand: Command = commanderCommand({
  name: 'bench',
  summary: 'Time every loss (value + gradient) and, with --train, training steps on this machine',
  usage: '[--losses IDS] [--shape B,C,H,W] [--dtype float32|float64] [--iterations N] [--cold] [--train] [--json]',
  program: benchProgram,
  async run(program) {
    const o = program.opts<BenchFlags>();
    const shape = parseShape(o.shape);
    if (o.dtype !== 'float32' && o.dtype !== 'float64') throw new UsageError(`--dtype: expected float32 or float64 but received '${o.dtype}'`);
    const iterations = parseInteger(o.iterations, '--iterations', 1, 1000);
    const losses = parseLosses(o.losses);
    const engine = cpuEngineInfo();
    const head = { shape, dtype: o.dtype, iterations, cold: o.cold === true, cpuKernels: engine.active, threads: engine.threads };
    if (o.json) process.stdout.write(jsonLine({ type: 'bench', ...head }) + '\n');
    else process.stdout.write(`segloss bench: ${shape.join('×')} ${o.dtype}, ${engine.active} kernels, ${engine.threads} threads, median of ${iterations}${o.cold ? ', cold target maps' : ''}\n`);
    const input = { ...benchWorkload(shape, o.dtype), shape };
    const rows: LossTiming[] = [];
    for (const loss of losses) {
      const row = timeLoss(loss, input, iterations, o.cold === true);
      rows.push(row);
      if (o.json) process.stdout.write(jsonLine({ type: 'loss', ...row }) + '\n');
    }
    if (!o.json) process.stdout.write(tableOf(rows));
    if (o.train) {
      if (!torchAvailable()) throw new UsageError('--train: the torch addon is not available (npx segloss doctor says why)');
      const training = await timeTraining();
      if (o.json) process.stdout.write(jsonLine({ type: 'train', model: 'unet', baseChannels: 16, imageSize: 64, batchSize: 8, ...training }) + '\n');
      else process.stdout.write(`training: UNet base 16, 64×64, batch 8: ${training.imagesPerSecond.toFixed(1)} images/s (median of ${training.steps} steps)\n`);
    }
    return 0;
  },
});
