import os from 'node:os';
import { readSavedRun } from '../training/checkpoint.js';
import type { TrainCallbacks } from '../training/types.js';
import type { FlagValues } from './args.js';
import type { CliIO } from './command.js';

/** The signals a training command stops on: Ctrl-C, and what `kill`, systemd and `docker stop` send. */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The abort reason of a training stopped by a signal. */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** Whether `error` is `reason` or was caused by it (an error that wraps the abort). */
function causedBy(error: unknown, reason: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e === reason) return true;
  return false;
}

/** What a training command tells {@link stopOnSignals} about itself, to word the last line. */
export interface StopContext {
  /** e.g. 'train-mnist'. */
  command: string;
  /** The run directory, when known before training begins (--out, --resume). */
  out?: string;
  /** Flags a resume needs again, e.g. ['--workers', '2']: they are not kept in the checkpoint. */
  resumeFlags: string[];
}

/** A training command's signal handling, from {@link stopOnSignals}. */
export interface SignalStop {
  /** Pass to the training call. */
  signal: AbortSignal;
  /** Keeps track of the run directory and epochs; add to the training callbacks. */
  callbacks: TrainCallbacks;
  /** When `error` is this stop's abort: writes the line and returns the exit code; otherwise undefined. */
  exitCode(error: unknown): number | undefined;
  /** Removes the signal handlers. */
  dispose(): void;
}

/**
 * A repeat within this many milliseconds is the same Ctrl-C: the terminal signals the whole
 * process group, and wrappers (npm run, the tsx CLI) forward the signal to their child again.
 */
const SAME_PRESS_MS = 250;

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`);

/**
 * Makes SIGINT and SIGTERM stop a training command cleanly: the first aborts training within a
 * step (a save in progress finishes first), and the command ends with one line saying what the
 * run directory holds and the exact command that resumes it, exiting 128 + the signal number
 * (130, 143), as shells do. A second signal (more than 250 ms later: a terminal and the
 * wrappers around a command can deliver one Ctrl-C two or three times) exits at once, with the same line: writes in
 * progress are atomic, so the directory keeps its last complete checkpoint, and their
 * temporaries and the run's lock are removed on exit.
 *
 * @example
 * const stop = stopOnSignals(io, { command: 'train-mnist', out, resumeFlags: [] });
 * try { await trainMnist({ signal: stop.signal, callbacks: [stop.callbacks] }); }
 * catch (error) { const code = stop.exitCode(error); if (code !== undefined) return code; throw error; }
 * finally { stop.dispose(); }
 */
export function stopOnSignals(io: CliIO, context: StopContext): SignalStop {
  const controller = new AbortController();
  let out = context.out;
  let started = 0;
  let ended = 0;
  let notice: NodeJS.Timeout | undefined;
  let firstAt = 0;

  const line = (signal: NodeJS.Signals, prefix: string) => {
    const where = started > ended ? `in epoch ${started} (its progress is lost)` : ended > 0 ? `after epoch ${ended}` : 'before training began';
    if (!out) return `${prefix}${signal} ${where}; nothing saved; run the same command again to start over`;
    const saved = readSavedRun(out);
    if (saved.lastEpoch === 0) return `${prefix}${signal} ${where}; nothing saved in ${out} yet; run the same command again to start over`;
    const best = saved.bestEpoch === null ? '' : `${out}/model.json (epoch ${saved.bestEpoch}, the best) and `;
    const resume = ['mobilenetv2', context.command, '--resume', out, ...context.resumeFlags].map(quote).join(' ');
    return `${prefix}${signal} ${where}; saved ${best}${out}/last/ (epoch ${saved.lastEpoch} of ${saved.epochs}); resume with: ${resume}`;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (performance.now() - firstAt < SAME_PRESS_MS) return;
      io.stderr.write(`${line(signal, 'stopped at once by a second ')}\n`);
      process.exit(128 + os.constants.signals[signal]);
    }
    firstAt = performance.now();
    controller.abort(new Interrupted(signal));
    // Most stops take well under a second; a slow one (a long step, a big save) says why it waits.
    notice = setTimeout(() => io.stderr.write(`${signal}: stopping after the current step; send it again to stop at once\n`), 1000);
    notice.unref();
  };
  for (const name of SIGNALS) process.on(name, onSignal);

  return {
    signal: controller.signal,
    callbacks: {
      onTrainBegin(info) {
        out = info.out ?? out;
        ended = Math.max(ended, info.initialEpoch);
        started = Math.max(started, info.initialEpoch);
      },
      onEpochBegin(epoch) {
        started = epoch;
      },
      onEpochEnd(metrics) {
        ended = metrics.epoch;
      },
    },
    exitCode(error) {
      const reason = controller.signal.reason;
      if (!controller.signal.aborted || !(reason instanceof Interrupted) || !causedBy(error, reason)) return undefined;
      clearTimeout(notice);
      io.stderr.write(`${line(reason.signal, 'stopped by ')}\n`);
      return 128 + os.constants.signals[reason.signal];
    },
    dispose() {
      clearTimeout(notice);
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}

/** The flags among `names` that were given, as arguments: what a resume command must repeat. */
export function givenFlags(flags: FlagValues, names: readonly string[]): string[] {
  return names.flatMap((name) => {
    const value = flags[name];
    if (Array.isArray(value)) return value.flatMap((v) => [`--${name}`, v]);
    return typeof value === 'string' ? [`--${name}`, value] : value === true ? [`--${name}`] : [];
  });
}

/**
 * Runs a training call under {@link stopOnSignals}: its result, or the exit code of a stop by
 * signal (after the line that says what was saved). Other errors propagate.
 *
 * @example
 * const outcome = await stoppable(io, context, (stop) => trainMnist({ signal: stop.signal, callbacks: [stop.callbacks] }));
 * if ('exitCode' in outcome) return outcome.exitCode;
 */
export async function stoppable<T>(
  io: CliIO, context: StopContext, train: (stop: Pick<SignalStop, 'signal' | 'callbacks'>) => Promise<T>,
): Promise<{ result: T } | { exitCode: number }> {
  const stop = stopOnSignals(io, context);
  try {
    return { result: await train(stop) };
  } catch (error) {
    const exitCode = stop.exitCode(error);
    if (exitCode === undefined) throw error;
    return { exitCode };
  } finally {
    stop.dispose();
  }
}
