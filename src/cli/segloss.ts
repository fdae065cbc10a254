#!/usr/bin/env node
/**
 * The `segloss` command line. Subcommands live in one table ({@link commands}); each is a small
 * module under src/cli/ exporting a `Command`. Today: `train`, `eval`, `predict`, `check`, `sweep`, `landscape`, `bench`, `train-inverseform`, `doctor` (and `help`).
 *
 * @example
 * ```sh
 * npx segloss train           # trains a small UNet on the built-in fashion-seg and prints its Dice
 * npx segloss doctor          # checks the installation; exit 1 with advice when something is missing
 * npx segloss doctor --json   # the same checks as JSON
 * npx segloss --help
 * ```
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { packageRoot } from '../native/core';
import type { Command } from './command';
import { benchCommand } from './bench';
import { checkCommand } from './check';
import { doctorCommand } from './doctor';
import { evalCommand } from './eval';
import { landscapeCommand } from './landscape';
import { predictCommand } from './predict';
import { sweepCommand } from './sweep';
import { trainCommand } from './train';
import { trainInverseFormCommand } from './train-inverseform';

/** Every subcommand, by name, in help order. */
export const commands: Readonly<Record<string, Command>> = Object.freeze({
  train: trainCommand,
  eval: evalCommand,
  predict: predictCommand,
  check: checkCommand,
  sweep: sweepCommand,
  landscape: landscapeCommand,
  bench: benchCommand,
  doctor: doctorCommand,
  'train-inverseform': trainInverseFormCommand,
});

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The top-level help text. */
export function helpText(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length), 4) + 3;
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}${command.summary}`);
  return [
    `segloss ${packageVersion()} — segmentation losses on native C++/CUDA engines`,
    '',
    'Usage: segloss <command> [options]',
    '',
    'Commands:',
    ...lines,
    `  ${'help'.padEnd(width)}Show this help, or a command's: segloss help <command>`,
    '',
    'Options:',
    '  -h, --help      Show help (segloss <command> --help for a command)',
    '  -v, --version   Print the version',
    '',
  ].join('\n');
}

function commandHelp(name: string, command: Command): string {
  return [`Usage: segloss ${name} ${command.usage}`.trimEnd(), '', command.summary, '', command.help, ''].join('\n');
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help') {
    process.stdout.write(helpText());
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (first === 'help') {
    const command = rest[0] === undefined ? undefined : commands[rest[0]];
    process.stdout.write(command ? commandHelp(rest[0], command) : helpText());
    return rest[0] === undefined || command ? 0 : 2;
  }
  const command = Object.hasOwn(commands, first) ? commands[first] : undefined;
  if (!command) {
    process.stderr.write(`segloss: unknown command '${first}' (commands: ${Object.keys(commands).join(', ')}, help)\n\n`);
    process.stderr.write(helpText());
    return 2;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(commandHelp(first, command));
    return 0;
  }
  return command.run(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`segloss: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
