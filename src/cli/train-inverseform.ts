/**
 * `segloss train-inverseform`: trains the inverse-transformation network of the `inverseform`
 * loss natively (random affine warps of 32×32 tiles of the boundary maps of real masks, regression
 * of the warp parameters) and writes its weight file. The network segloss ships
 * (native/weights/inverseform-net.bin) was made by this command with its defaults.
 *
 * @example
 * ```sh
 * npx segloss train-inverseform --out inverseform-net.bin          # the shipped network's recipe
 * npx segloss train-inverseform --masks my-masks.bin --steps 20000 --seed 3 --out mine.bin
 * ```
 */
import { loadInverseFormMasks, saveInverseFormNetwork, trainInverseForm } from '../inverseform';
import type { Command } from './command';

const NUMBER_OPTIONS = ['steps', 'batch', 'learning-rate', 'seed', 'max-shift', 'max-scale', 'max-rotation'] as const;

interface ParsedArgs {
  readonly numbers: Partial<Record<(typeof NUMBER_OPTIONS)[number], number>>;
  readonly out: string;
  readonly masks: string | undefined;
}

function parseArgs(args: readonly string[]): ParsedArgs | string {
  const numbers: Partial<Record<(typeof NUMBER_OPTIONS)[number], number>> = {};
  let out = 'inverseform-net.bin';
  let masks: string | undefined;
  for (let i = 0; i < args.length; ++i) {
    const name = args[i].replace(/^--/, '');
    const value = args[i + 1];
    if (!args[i].startsWith('--') || value === undefined) return `expected --<option> <value>, got '${args[i]}'`;
    ++i;
    if (name === 'out') out = value;
    else if (name === 'masks') masks = value;
    else if ((NUMBER_OPTIONS as readonly string[]).includes(name)) {
      const x = Number(value);
      if (!Number.isFinite(x)) return `--${name} needs a number, got '${value}'`;
      numbers[name as (typeof NUMBER_OPTIONS)[number]] = x;
    } else return `unknown option '--${name}'`;
  }
  return { numbers, out, masks };
}

export const trainInverseFormCommand: Command = {
  summary: "Train the inverseform loss's inverse-transformation network and write its weights",
  usage: '[--out FILE] [--masks FILE] [--steps N] [--batch N] [--learning-rate X] [--seed N] [--max-shift PX] [--max-scale R] [--max-rotation DEG]',
  help: [
    'Trains the compact inverse-transformation network of the `inverseform` loss on the CPU: random affine',
    'warps (shift, scale, rotation) of 32×32 tiles of the boundary maps of binary masks, and regression of the',
    'warp parameters (Adam). With the defaults it reproduces the network segloss ships (deterministic for a seed:',
    'the training runs on one thread); use the weights with computeLoss(\'inverseform\', input, { network: loadInverseFormNetwork(file) }).',
    '',
    'Options:',
    '  --out FILE           weight file to write (default inverseform-net.bin)',
    "  --masks FILE         a segloss mask file ('SLMK'; default the shipped training masks)",
    '  --steps N            optimisation steps (default 6000)',
    '  --batch N            samples per step (default 32)',
    '  --learning-rate X    Adam step size (default 0.001)',
    '  --seed N             sample and initialisation seed (default 1)',
    '  --max-shift PX       largest shift per axis (default 4)',
    '  --max-scale R        largest relative scale change (default 0.15)',
    '  --max-rotation DEG   largest rotation (default 15)',
  ].join('\n'),
  async run(args) {
    const parsed = parseArgs(args);
    if (typeof parsed === 'string') {
      process.stderr.write(`segloss train-inverseform: ${parsed}\n`);
      return 2;
    }
    const n = parsed.numbers;
    const started = Date.now();
    const network = await trainInverseForm({
      masks: parsed.masks === undefined ? undefined : loadInverseFormMasks(parsed.masks),
      steps: n.steps,
      batch: n.batch,
      learningRate: n['learning-rate'],
      seed: n.seed,
      maxShift: n['max-shift'],
      maxScale: n['max-scale'],
      maxRotation: n['max-rotation'],
      onProgress: (step, loss) => {
        if (step % 1000 === 0) process.stdout.write(`step ${step}: regression loss ${loss.toFixed(5)} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
      },
    });
    saveInverseFormNetwork(network, parsed.out);
    process.stdout.write(
      `held-out warps: mean ‖θ̂ − θ‖ ${network.meanError.toFixed(4)} against mean ‖θ‖ ${network.meanTarget.toFixed(4)}\nwrote ${parsed.out}\n`,
    );
    return 0;
  },
};
