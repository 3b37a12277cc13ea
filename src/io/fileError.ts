import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

/** What each errno means for someone writing a run directory, and what to do about it. */
const ADVICE: Record<string, string> = {
  ENOSPC: 'no space left on the device; free some space or write to another disk',
  EDQUOT: 'disk quota exceeded; free some space or write to another disk',
  EACCES: 'permission denied; choose a directory you can write to',
  EPERM: 'operation not permitted; choose a directory you can write to',
  EROFS: 'read-only file system; choose a writable directory',
  ENOTDIR: 'a part of the path is a file, not a directory; choose another path',
  EEXIST: 'a file is in the way; remove it or choose another path',
  EISDIR: 'a directory is in the way; remove it or choose another path',
  ENAMETOOLONG: 'the path is too long; choose a shorter one',
  ELOOP: 'too many symbolic links (a loop?); fix the links or choose another path',
  ENOENT: 'no such file or directory',
  EMFILE: 'too many open files; raise the limit (ulimit -n)',
  ENFILE: 'too many open files on the system; raise the limit',
  EIO: 'input/output error; check the disk',
};

/**
 * An operating-system error on a path, as one line: the path, what was being done, the errno
 * and what to do, e.g. `runs/a/model.json: cannot write: ENOSPC (no space left on the device;
 * free some space or write to another disk)`. An {@link InputError}, so the CLI prints just
 * that line; `code` and `cause` keep the original for callers that branch on it.
 */
export class FileError extends InputError {
  override name = 'FileError';
  constructor(readonly path: string, readonly code: string, doing: string, cause: unknown) {
    super(`${path}: cannot ${doing}: ${code} (${ADVICE[code] ?? (cause as Error).message?.split('\n')[0] ?? 'system error'})`, { cause });
  }
}

/**
 * `error` as a {@link FileError} on `file` when it is an errno error (ENOSPC, EACCES, ...);
 * anything else (and a FileError already) comes back unchanged.
 *
 * @example
 * await fs.mkdir(dir).catch((e) => { throw fileError(e, dir, 'create the directory'); });
 */
export function fileError(error: unknown, file: string, doing: string): unknown {
  if (error instanceof InputError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? new FileError(file, code, doing, error) : error;
}

/** Creates `dir` one level at a time, so that the error, if any, is the real one. */
async function mkdirEachLevel(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  if (parent !== dir) {
    const stat = await fs.stat(parent).catch(() => null);
    if (!stat) await mkdirEachLevel(parent);
  }
  await fs.mkdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

/**
 * `mkdir -p dir`, failing with a one-line {@link FileError} that names `dir` and the real errno.
 *
 * @example
 * await makeDirectory('runs/a', 'create the output directory');
 */
export async function makeDirectory(dir: string, doing: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    // Node's recursive mkdir says ENOENT for any failure under an existing parent (EROFS, say).
    let real: unknown = error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') real = await mkdirEachLevel(dir).then(() => null, (e: unknown) => e);
    if (real !== null) throw fileError(real, dir, doing);
  }
}
