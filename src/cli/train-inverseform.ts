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
import { Command as Commander } from 'commander';

import { loadInverseFormMasks, saveInverseFormNetwork, trainInverseForm } from '../inverseform';
import { type Command, commanderCommand } from './command';
import { parseNumber } from './train-options';

function trainInverseFormProgram(): Commander {
  return new Commander('train-inverseform')
    .description("Train the inverseform loss's inverse-transformation network and write its weights")
    .option('--out <file>', 'weight file to write', 'inverseform-net.bin')
    .option('--masks <file>', "a segloss mask file ('SLMK'; default the shipped training masks)")
    .option('--steps <n>', 'optimisation steps (default 6000)')
    .option('--batch <n>', 'samples per step (default 32)')
    .option('--learning-rate <x>', 'Adam step size (default 0.001)')
    .option('--seed <n>', 'sample and initialisation seed (default 1)')
    .option('--max-shift <px>', 'largest shift per axis (default 4)')
    .option('--max-scale <r>', 'largest relative scale change (default 0.15)')
    .option('--max-rotation <deg>', 'largest rotation in degrees (default 15)')
    .addHelpText(
      'after',
      [
        '',
        'Trains the compact inverse-transformation network of the `inverseform` loss on the CPU: random affine',
        'warps (shift, scale, rotation) of 32×32 tiles of the boundary maps of binary masks, and regression of the',
        'warp parameters (Adam). With the defaults it reproduces the network segloss ships (deterministic for a seed:',
        "the training runs on one thread); use the weights with computeLoss('inverseform', input, { network: loadInverseFormNetwork(file) }).",
      ].join('\n'),
    )
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
}

interface RawOptions {
  readonly out: string;
  readonly masks?: string;
  readonly steps?: string;
  readonly batch?: string;
  readonly learningRate?: string;
  readonly seed?: string;
  readonly maxShift?: string;
  readonly maxScale?: string;
  readonly maxRotation?: string;
}

/** A numeric option as a number (trainInverseForm checks its range), or undefined when absent. */
function numberOption(value: string | undefined, option: string): number | undefined {
  return value === undefined ? undefined : parseNumber(value, option, 'a number', () => true);
}

export const trainInverseFormCommand: Command = commanderCommand({
  name: 'train-inverseform',
  summary: "Train the inverseform loss's inverse-transformation network and write its weights",
  usage: '[--out FILE] [--masks FILE] [--steps N] [--batch N] [--learning-rate X] [--seed N] [--max-shift PX] [--max-scale R] [--max-rotation DEG]',
  program: trainInverseFormProgram,
  async run(program) {
    const o = program.opts<RawOptions>();
    const started = Date.now();
    const network = await trainInverseForm({
      masks: o.masks === undefined ? undefined : loadInverseFormMasks(o.masks),
      steps: numberOption(o.steps, '--steps'),
      batch: numberOption(o.batch, '--batch'),
      learningRate: numberOption(o.learningRate, '--learning-rate'),
      seed: numberOption(o.seed, '--seed'),
      maxShift: numberOption(o.maxShift, '--max-shift'),
      maxScale: numberOption(o.maxScale, '--max-scale'),
      maxRotation: numberOption(o.maxRotation, '--max-rotation'),
      onProgress: (step, loss) => {
        if (step % 1000 === 0) process.stdout.write(`step ${step}: regression loss ${loss.toFixed(5)} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
      },
    });
    saveInverseFormNetwork(network, o.out);
    process.stdout.write(
      `held-out warps: mean ‖θ̂ − θ‖ ${network.meanError.toFixed(4)} against mean ‖θ‖ ${network.meanTarget.toFixed(4)}\nwrote ${o.out}\n`,
    );
    return 0;
  },
});
