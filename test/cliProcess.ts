import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');

/** A `mobilenetv2` process started by {@link startCli}, with its output so far. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process ends: its exit code (128 + n for a signal n) and when it ended. */
  exited: Promise<{ code: number; at: number }>;
  /** Waits until stderr matches `pattern` (or `file` exists); throws with the output so far after `ms`. */
  waitFor(what: RegExp | { file: string }, ms?: number): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Run as this user id (and group id), for permission tests; needs root. */
  uid?: number;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Starts the CLI as a real process, the way a user runs it (`node --import tsx src/cli/main.ts`,
 * no wrapper in between), and records its output.
 */
export function startCli(args: string[], options: StartOptions = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MOBILENETV2_DEBUG: '', ...options.env },
    ...(options.uid !== undefined && { uid: options.uid, gid: options.uid }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<{ code: number; at: number }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 0), at: Date.now() }));
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitFor(what, ms = 90_000) {
      const deadline = Date.now() + ms;
      const met = () => (what instanceof RegExp ? what.test(stderr) : existsSync(what.file));
      while (!met()) {
        if (done || Date.now() > deadline) {
          throw new Error(`${done ? 'exited' : 'timed out'} before ${what instanceof RegExp ? what : what.file}; stderr:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** Runs the CLI to the end: exit code and output. */
export async function runCli(args: string[], options: StartOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = startCli(args, options);
  const { code } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** The last line of `text`. */
export const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';
