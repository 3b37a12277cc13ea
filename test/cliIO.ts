import { Writable } from 'node:stream';
import type { CliIO } from '../src/cli/command.js';

/** A CliIO that records stdout, and stderr plus log lines, for CLI tests. */
export function recordingIO(): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const stream = (write: (s: string) => void) =>
    new Writable({ write(chunk, _encoding, done) { write(String(chunk)); done(); } }) as unknown as NodeJS.WriteStream;
  return {
    stdout: stream((s) => (out += s)),
    stderr: stream((s) => (err += s)),
    logger: { info: (m) => (err += `${m}\n`), warn: (m) => (err += `warning: ${m}\n`) },
    out: () => out,
    err: () => err,
  };
}
