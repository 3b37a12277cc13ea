import type { Logger } from '../logger.js';

/** Streams and logger a command writes to; tests pass their own. */
export interface CliIO {
  /** Results (the `--json` line). */
  stdout: NodeJS.WritableStream;
  /** Progress and messages; a TTY gets progress bars. */
  stderr: NodeJS.WriteStream;
  logger: Logger;
}

/**
 * A `mobilenetv2` subcommand. Each lives in its own file under `src/cli/commands/` and is
 * listed once in `src/cli/commands/index.ts`.
 */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  help(): string;
  /** Runs with the arguments after the command name; resolves to the exit code. Throws InputError on bad input. */
  run(argv: string[], io: CliIO): Promise<number>;
}
