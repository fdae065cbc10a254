import { type Command as Commander, CommanderError } from 'commander';

import { DATASET_ERROR } from '../datasets/types';
import { INVALID_ARGUMENT } from '../validate';
import { UsageError } from './train-options';

/** One `segloss` subcommand: its help and its entry point. */
export interface Command {
  /** One line for the command list. */
  readonly summary: string;
  /** Arguments after the command name, for the usage line (e.g. `[--json]`). */
  readonly usage: string;
  /** The command's own help: its options and what it does. */
  readonly help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: readonly string[]): Promise<number>;
}

/**
 * A subcommand whose options a commander program parses: its help is the program's options, a
 * parse error (or --help) ends with commander's exit code (0 or 2), and a usage error thrown by
 * `run` — UsageError, or an error coded SEGLOSS_DATASET / SEGLOSS_INVALID_ARGUMENT — is printed
 * as `segloss <name>: message` (after `onUsageError`, when given) and exits 2.
 */
export function commanderCommand<P extends Commander>(spec: {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly program: () => P;
  readonly run: (program: P, args: readonly string[]) => Promise<number>;
  readonly onUsageError?: (program: P, error: Error) => void;
}): Command {
  return {
    summary: spec.summary,
    usage: spec.usage,
    get help(): string {
      const text = spec.program().helpInformation();
      return text.slice(text.indexOf('Options:')).trimEnd();
    },
    async run(args) {
      const program = spec.program();
      try {
        program.parse(args as string[], { from: 'user' });
      } catch (error) {
        if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
        throw error;
      }
      try {
        return await spec.run(program, args);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (error instanceof UsageError || code === DATASET_ERROR || code === INVALID_ARGUMENT) {
          spec.onUsageError?.(program, error as Error);
          process.stderr.write(`segloss ${spec.name}: ${(error as Error).message}\n`);
          return 2;
        }
        throw error;
      }
    },
  };
}
