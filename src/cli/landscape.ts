/**
 * `segloss landscape`: the survey's Figure 3. For a large and a small square object, a confident
 * prediction (probability 0.95 inside a square of the object's size, 0.05 outside) is shifted
 * step by step away from the target, and every loss of `combinableLossNames` (the 22 on the common input) (default options; the
 * prediction given as probabilities, `activation: 'none'`, or for a loss that takes only sigmoid
 * or softmax inputs as the logits that activation turns into the same probabilities) is
 * evaluated at each shift. Writes
 * landscape.csv and landscape.svg (one panel per object, a line per loss) to `--out`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command as Commander } from 'commander';

import { computeLoss } from '../compute';
import { combinableLossNames, lossDefinitions } from '../losses/registry';
import { renderSvg } from '../report/charts';
import type { Activation, LossName } from '../types';
import { type Command, commanderCommand } from './command';
import { parseInteger } from './train-options';

/** The two objects of the figure: sides in pixels on a `size` × `size` canvas. */
export interface LandscapeOptions {
  readonly size: number;
  readonly large: number;
  readonly small: number;
  readonly maxShift: number;
}

export const LANDSCAPE_DEFAULTS: LandscapeOptions = { size: 64, large: 24, small: 4, maxShift: 30 };
const INSIDE = 0.95;
const OUTSIDE = 0.05;

export interface LandscapeRow {
  readonly object: 'large' | 'small';
  readonly shift: number;
  /** Hard Dice of the shifted square with the target. */
  readonly overlapDice: number;
  readonly loss: string;
  /** How the prediction was given: probabilities ('none'), or logits whose 'sigmoid' / 'softmax' are those probabilities. */
  readonly activation: Activation;
  readonly value: number;
}

/** Probabilities when the loss takes them, else the logits its activation turns into the same probabilities. */
function inputFor(loss: LossName, probs: Float64Array): { logits: Float64Array; activation: Activation } {
  const accepted = lossDefinitions.find((d) => d.id === loss)?.activations as readonly Activation[] | undefined;
  if (!accepted || accepted.includes('none')) return { logits: probs, activation: 'none' };
  if (accepted.includes('softmax')) return { logits: probs.map(Math.log), activation: 'softmax' };
  // Sigmoid per channel: logit(p) = log(p / (1 − p)); the two channels are p and 1 − p.
  return { logits: probs.map((p) => Math.log(p / (1 - p))), activation: 'sigmoid' };
}

// [1, 2, size, size] probabilities of a square of `side` at column `x0`, and the target [1, size, size].
function squareCase(o: LandscapeOptions, side: number, shift: number): { probs: Float64Array; target: Uint8Array; overlapDice: number } {
  const n = o.size * o.size;
  const top = Math.floor((o.size - side) / 2);
  const left = Math.floor(o.size / 4 - side / 2);
  const probs = new Float64Array(2 * n);
  const target = new Uint8Array(n);
  let both = 0;
  for (let y = 0; y < o.size; y++) {
    for (let x = 0; x < o.size; x++) {
      const i = y * o.size + x;
      const inRows = y >= top && y < top + side;
      const isTarget = inRows && x >= left && x < left + side;
      const isPredicted = inRows && x >= left + shift && x < left + shift + side;
      target[i] = isTarget ? 1 : 0;
      probs[n + i] = isPredicted ? INSIDE : OUTSIDE;
      probs[i] = 1 - probs[n + i];
      if (isTarget && isPredicted) both++;
    }
  }
  return { probs, target, overlapDice: (2 * both) / (2 * side * side) };
}

/** Every loss at every shift, for both objects. */
export function landscapeRows(o: LandscapeOptions = LANDSCAPE_DEFAULTS): LandscapeRow[] {
  const rows: LandscapeRow[] = [];
  for (const [object, side] of [['large', o.large], ['small', o.small]] as const) {
    for (let shift = 0; shift <= o.maxShift; shift++) {
      const { probs, target, overlapDice } = squareCase(o, side, shift);
      for (const loss of combinableLossNames) {
        const { logits, activation } = inputFor(loss, probs);
        const { value } = computeLoss(loss, { logits, target, shape: [1, 2, o.size, o.size] }, { activation });
        rows.push({ object, shift, overlapDice, loss, activation, value });
      }
    }
  }
  return rows;
}

export function landscapeCsv(rows: readonly LandscapeRow[]): string {
  return ['object,shift,overlap_dice,loss,activation,value', ...rows.map((r) => `${r.object},${r.shift},${r.overlapDice},${r.loss},${r.activation},${r.value}`)].join('\n') + '\n';
}

export function landscapeSvg(rows: readonly LandscapeRow[]): Promise<string> {
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Loss against the shift of a confident prediction (survey Fig. 3)',
    data: { values: rows.map((r) => ({ ...r })) },
    facet: { column: { field: 'object', type: 'nominal', title: null, sort: ['large', 'small'] } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 360,
      height: 260,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'shift', type: 'quantitative', title: 'shift (pixels)' },
        y: { field: 'value', type: 'quantitative', title: 'loss value' },
        color: { field: 'loss', type: 'nominal', title: 'loss' },
      },
    },
    config: { axis: { labelFont: 'sans-serif', titleFont: 'sans-serif' }, legend: { labelFont: 'sans-serif', titleFont: 'sans-serif' }, title: { font: 'sans-serif' } },
  });
}

function landscapeProgram(): Commander {
  const d = LANDSCAPE_DEFAULTS;
  return new Commander('landscape')
    .description('Every loss for predictions shifted away from a large and a small object (survey Fig. 3)')
    .option('--out <dir>', 'where landscape.csv and landscape.svg go', 'landscape')
    .option('--size <n>', 'canvas side', String(d.size))
    .option('--large <n>', 'side of the large square', String(d.large))
    .option('--small <n>', 'side of the small square', String(d.small))
    .option('--max-shift <n>', 'largest shift in pixels', String(d.maxShift))
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
}

export const landscapeCommand: Command = commanderCommand({
  name: 'landscape',
  summary: 'Every loss for predictions shifted away from a large and a small object (plot + CSV, survey Fig. 3)',
  usage: '[--out DIR] [--size N] [--large N] [--small N] [--max-shift N]',
  program: landscapeProgram,
  async run(program) {
    const raw = program.opts<{ out: string; size: string; large: string; small: string; maxShift: string }>();
    const size = parseInteger(raw.size, '--size', 4, 4096);
    const large = parseInteger(raw.large, '--large', 1, Math.floor(size / 2));
    const small = parseInteger(raw.small, '--small', 1, Math.floor(size / 2));
    // The shifted square must stay on the canvas (it starts a quarter of the way across).
    const room = Math.min(...[large, small].map((side) => size - side - Math.floor(size / 4 - side / 2)));
    const o: LandscapeOptions = { size, large, small, maxShift: parseInteger(raw.maxShift, '--max-shift', 0, room) };
    const rows = landscapeRows(o);
    fs.mkdirSync(raw.out, { recursive: true });
    fs.writeFileSync(path.join(raw.out, 'landscape.csv'), landscapeCsv(rows));
    fs.writeFileSync(path.join(raw.out, 'landscape.svg'), await landscapeSvg(rows));
    process.stdout.write(`segloss landscape: ${combinableLossNames.length} losses × ${2 * (o.maxShift + 1)} predictions → ${path.join(raw.out, 'landscape.csv')}, ${path.join(raw.out, 'landscape.svg')}\n`);
    return 0;
  },
});
