import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../errors.js';
import { sweepTemporaries } from './atomic.js';
import { fileError, makeDirectory } from './fileError.js';

/** The lock file a run keeps in its output directory while it writes there. */
export const LOCK_FILE = '.mobilenetv2.lock';

/** What a lock file records about its holder. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** The kernel's boot id (Linux), so a lock from before a reboot is known stale. */
  bootId: string | null;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat), so a reused pid is not mistaken for it. */
  startTicks: number | null;
  /** The holder's command line, for the message a second run gets. */
  command: string;
  startedAt: string;
  /** Unique per acquisition: a holder releases only its own lock. */
  token: string;
}

/** A held lock on a run directory; {@link RunLock.release} gives it up. */
export interface RunLock {
  readonly dir: string;
  readonly file: string;
  release(): Promise<void>;
}

function readOr<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

const bootId = (): string | null => readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), null);

/** Field 22 of /proc/PID/stat (after the parenthesized command name, which may hold spaces). */
function startTicks(pid: number): number | null {
  return readOr(() => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  }, null);
}

function describeCommand(): string {
  const script = process.argv[1] ? path.basename(process.argv[1]) : 'node';
  const text = [script, ...process.argv.slice(2)].join(' ');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function me(token: string): LockHolder {
  return {
    pid: process.pid, hostname: os.hostname(), bootId: bootId(), startTicks: startTicks(process.pid),
    command: describeCommand(), startedAt: new Date().toISOString(), token,
  };
}

/**
 * Whether the recorded holder can still be running. A holder on another host cannot be checked
 * and counts as alive. On this host it is gone when the machine has rebooted since (boot id),
 * when no process has its pid, or when the process with its pid started at another time (the
 * pid was reused).
 */
function holderAlive(holder: LockHolder): boolean {
  if (holder.hostname !== os.hostname()) return true;
  const boot = bootId();
  if (holder.bootId && boot && holder.bootId !== boot) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: a process of another user has this pid, so it exists.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const ticks = startTicks(holder.pid);
  return holder.startTicks === null || ticks === null || holder.startTicks === ticks;
}

/** The lock file's text and holder; holder 'unreadable' when the text is not a lock (edited by hand, cut short). */
async function readLock(file: string): Promise<{ text: string; holder: LockHolder | 'unreadable' } | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileError(error, file, 'read the lock file');
  }
  try {
    const holder = JSON.parse(text) as LockHolder;
    return { text, holder: typeof holder?.pid === 'number' && typeof holder.token === 'string' ? holder : 'unreadable' };
  } catch {
    return { text, holder: 'unreadable' };
  }
}

/**
 * Locks held by this process: directory → holders count, so nested calls (trainMnist → train)
 * share one lock. `created` lists the directories taking the lock created, which go again if the
 * run leaves them empty (a run that failed on its flags leaves no trace).
 */
const held = new Map<string, { count: number; file: string; token: string; created: string[] }>();

/** The directories `mkdir -p dir` is about to create, deepest first. */
async function missingLevels(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !(await fs.stat(d).then(() => true, () => false)); d = path.dirname(d)) {
    missing.push(d);
    if (path.dirname(d) === d) break;
  }
  return missing;
}

function releaseAllSync(): void {
  for (const { file, token, created } of held.values()) {
    readOr(() => {
      if ((JSON.parse(readFileSync(file, 'utf8')) as LockHolder).token === token) unlinkSync(file);
      for (const d of created) rmdirSync(d);
    }, undefined);
  }
  held.clear();
}

async function tryCreate(file: string, holder: LockHolder): Promise<boolean> {
  // Written whole under another name and then linked: a reader never sees a half-written lock,
  // and link() fails if the lock exists, atomically, as open(O_EXCL) would.
  const tmp = `${file}.${holder.token}.tmp`;
  try {
    await fs.writeFile(tmp, JSON.stringify(holder));
    await fs.link(tmp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
  } finally {
    await fs.rm(tmp, { force: true });
  }
  // A file system without hard links: O_EXCL alone.
  try {
    await fs.writeFile(file, JSON.stringify(holder), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Moves a stale lock aside, unless it changed since it was judged stale (another run took it over first). */
async function removeStale(file: string, stale: string): Promise<void> {
  const aside = `${file}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await fs.rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await fs.readFile(aside, 'utf8').catch(() => stale);
  if (moved !== stale) await fs.link(aside, file).catch(() => {});
  await fs.rm(aside, { force: true });
}

/** The error of a run directory that another live run holds (an `InputError`: one line, exit 2). */
export class RunDirectoryInUse extends InputError {}

function inUse(dir: string, file: string, holder: LockHolder): InputError {
  const where = holder.hostname === os.hostname() ? `pid ${holder.pid}` : `pid ${holder.pid} on ${holder.hostname}`;
  return new RunDirectoryInUse(`${dir} is in use by another run (${where}, since ${holder.startedAt}: ${holder.command}); `
    + `wait for it to finish or choose another output directory${holder.hostname === os.hostname() ? '' : `; if that run is gone, delete ${file}`}`);
}

/**
 * Takes the lock of a run directory (creating the directory), so that two processes never
 * write checkpoints into the same place: a second process gets a one-line {@link InputError}
 * naming the holder. The lock file records pid, hostname, boot id and process start time; a
 * lock whose holder is gone (killed, even with SIGKILL; or a reused pid; or a reboot) is stale
 * and taken over, and the temporaries its unfinished saves left are removed (see
 * `sweepTemporaries`). Within one process the lock is shared: nested calls on the same directory
 * count up, and the file goes when the last one releases (or the process exits).
 *
 * @example
 * const lock = await lockRunDirectory('runs/mnist');
 * try { ... } finally { await lock.release(); }
 */
export async function lockRunDirectory(dir: string): Promise<RunLock> {
  const created = await missingLevels(dir);
  await makeDirectory(dir, 'create the output directory');
  const key = await fs.realpath(dir).catch(() => path.resolve(dir));
  const file = path.join(dir, LOCK_FILE);
  let entry = held.get(key);
  if (entry) {
    entry.count++;
  } else {
    const token = randomBytes(8).toString('hex');
    const holder = me(token);
    for (let attempt = 0; ; attempt++) {
      const created = await tryCreate(file, holder).catch((error) => {
        throw fileError(error, file, 'create the lock file');
      });
      if (created) break;
      const other = await readLock(file);
      if (other === null) continue;
      if (other.holder !== 'unreadable' && holderAlive(other.holder)) throw inUse(dir, file, other.holder);
      if (attempt >= 3) {
        throw new InputError(`${file}: cannot take over the lock (another run keeps taking it); delete the file if no run is using ${dir}`);
      }
      await removeStale(file, other.text);
    }
    if (held.size === 0) process.on('exit', releaseAllSync);
    entry = { count: 1, file, token, created };
    held.set(key, entry);
    // Whoever wrote here before is gone: clear what a save it did not finish left behind.
    await sweepTemporaries(dir);
  }
  const mine = entry;
  let released = false;
  return {
    dir,
    file,
    async release() {
      if (released) return;
      released = true;
      if (--mine.count > 0) return;
      held.delete(key);
      if (held.size === 0) process.off('exit', releaseAllSync);
      const current = await readLock(file).catch(() => null);
      if (current && current.holder !== 'unreadable' && current.holder.token === mine.token) await fs.rm(file, { force: true });
      // Deepest first; a directory the run wrote into is not empty and stays, with those above it.
      for (const d of mine.created) if (!(await fs.rmdir(d).then(() => true, () => false))) break;
    },
  };
}

/**
 * Locks a new run directory for a run that was given none: `<root>/<prefix>-<UTC timestamp>`, or
 * with `-2`, `-3`, … when that one exists already or another run takes it first (two runs started
 * in the same second, such as parallel jobs, would otherwise meet on one directory and the second
 * be refused). Returns the directory and its lock.
 *
 * @example
 * const { dir, lock } = await lockNewRunDirectory('mnist'); // runs/mnist-2026-12-03-07-08-09
 */
export async function lockNewRunDirectory(prefix: string, root = 'runs'): Promise<{ dir: string; lock: RunLock }> {
  const base = path.join(root, `${prefix}-${new Date().toISOString().replace(/[:.]/g, '-').replace('T', '-').slice(0, 19)}`);
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    if (await fs.stat(dir).then(() => true, () => false)) continue;
    try {
      return { dir, lock: await lockRunDirectory(dir) };
    } catch (error) {
      if (!(error instanceof RunDirectoryInUse)) throw error;
    }
  }
}
