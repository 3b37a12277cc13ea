import { randomBytes } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { fileError } from './fileError.js';

const temporaries = new Set<string>();

/**
 * Registers a file or directory that exists only while a write is under way, so that an exit in
 * the middle of it (`process.exit` after a second Ctrl-C, an uncaught error) removes it instead
 * of leaving it next to the user's files. Returns the function that unregisters it.
 *
 * The 'exit' listener is process-wide state, there only while something is registered: exit
 * handlers are the only code that still runs when something calls `process.exit()` mid-save,
 * and they must be synchronous.
 */
export function trackTemporary(file: string): () => void {
  if (temporaries.size === 0) process.on('exit', removeTemporariesSync);
  temporaries.add(file);
  return () => {
    if (temporaries.delete(file) && temporaries.size === 0) process.off('exit', removeTemporariesSync);
  };
}

/** Removes every registered temporary now (synchronously; for exit paths). */
export function removeTemporariesSync(): void {
  for (const file of temporaries) rmSync(file, { recursive: true, force: true });
  temporaries.clear();
  process.off('exit', removeTemporariesSync);
}

/**
 * Writes a file so that readers see the old content or the new, never a mix: write and fsync
 * a uniquely named sibling, then rename it over the target (atomic on POSIX file systems).
 * On failure the sibling is removed and the error is a one-line {@link FileError} naming
 * `file` and the errno (ENOSPC, EACCES, ...); the target keeps its old content.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const untrack = trackTemporary(tmp);
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (error) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw fileError(error, file, 'write');
  } finally {
    untrack();
  }
}

/** The names {@link writeFileAtomic} and `saveCheckpoint` give their temporaries: `x.1a2b3c4d.tmp`, `.last-1a2b3c4d.tmp`. */
export const TEMPORARY_NAME = /[.-][0-9a-f]{8}\.tmp$/;

/**
 * Removes what writers that died mid-save left in `dir`: {@link TEMPORARY_NAME} files and
 * directories, and `weights-*.bin` files that no `*.json` in `dir` lists (the weights of a save
 * killed before its model.json was replaced). Only for a directory this process owns (see
 * `lockRunDirectory`), where nobody else is writing.
 */
export async function sweepTemporaries(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const listed = new Set<string>();
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      const json = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')) as { weightsManifest?: { paths?: string[] }[] };
      for (const group of json.weightsManifest ?? []) for (const p of group.paths ?? []) listed.add(p);
    } catch {
      // Not a model file.
    }
  }
  const stale = names.filter((n) => TEMPORARY_NAME.test(n) || (/^weights-[\w-]+\.bin$/.test(n) && !listed.has(n)));
  await Promise.all(stale.map((n) => fs.rm(path.join(dir, n), { recursive: true, force: true }).catch(() => {})));
}
