import { InputError } from '../errors.js';
import { tf } from '../tf.js';
import type { Logger } from '../logger.js';
import type { CliIO, Command } from './command.js';
import { COMMANDS } from './commands/index.js';

/** Exit code of bad input (flags, files); other failures exit with 1. */
export const EXIT_INPUT = 2;

export function defaultIO(): CliIO {
  const logger: Logger = {
    info: (m) => process.stderr.write(`${m}\n`),
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
  };
  return { stdout: process.stdout, stderr: process.stderr, logger };
}

/** The one line the CLI prints for an error: the message alone for bad input, with the error's name otherwise. */
export function errorLine(error: unknown): string {
  if (error instanceof InputError) return `error: ${error.message}`;
  if (error instanceof Error) {
    const first = error.message.split('\n')[0];
    return `error: ${error.name === 'Error' ? '' : `${error.name}: `}${first}`;
  }
  return `error: ${String(error).split('\n')[0]}`;
}

function report(error: unknown, io: CliIO): number {
  io.stderr.write(`${errorLine(error)}\n`);
  if (process.env.MOBILENETV2_DEBUG && error instanceof Error) io.stderr.write(`${error.stack}\n`);
  return error instanceof InputError ? EXIT_INPUT : 1;
}

/** Runs one command and turns any error into a one-line message and an exit code. */
export async function runCommand(command: Command, argv: string[], io: CliIO = defaultIO()): Promise<number> {
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout.write(`${command.help()}\n`);
      return 0;
    }
    return await command.run(argv, io);
  } catch (error) {
    return report(error, io);
  }
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `Usage: mobilenetv2 <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Run 'mobilenetv2 <command> --help' for a command's options.`;
}

/**
 * The `mobilenetv2` program: dispatches to a subcommand and resolves to the exit code. Never
 * throws.
 *
 * @example
 * process.exitCode = await runCli(['train-mnist', '--epochs', '1']);
 */
export async function runCli(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(`${usage()}\n`);
    return name === undefined ? EXIT_INPUT : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    return report(new InputError(`unknown command ${JSON.stringify(name)}; expected one of ${COMMANDS.map((c) => c.name).join(', ')}`), io);
  }
  return runCommand(command, rest, io);
}

/**
 * Makes a stray error (an event handler, a promise nobody awaited) end the process with one
 * line too. The handlers are prepended because the wasm backend's emscripten module installs
 * its own, which rethrow and print the module's whole source.
 */
export function installCrashGuards(io: CliIO = defaultIO()): void {
  // Production mode only silences TF.js's console notices (such as the cpu backend's advert for
  // tfjs-node), which would otherwise interleave with the CLI's own output.
  tf.env().set('PROD', true);
  const die = (error: unknown) => {
    process.exit(report(error, io));
  };
  process.prependListener('uncaughtException', die);
  process.prependListener('unhandledRejection', die);
}

/** Entry point of a script that runs one command (the examples): guards, runs, sets the exit code. */
export function runMain(command: Command, argv: string[] = process.argv.slice(2)): void {
  installCrashGuards();
  void runCommand(command, argv).then((code) => {
    process.exitCode = code;
  });
}
