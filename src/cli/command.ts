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
