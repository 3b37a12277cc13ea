// A full disk while saving, and an --out that cannot be created, against real processes. The
// full disk is a small tmpfs mounted here (root only; CI runs as root).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/io/fileSystem.js';
import { tf } from '../src/tf.js';
import { loadCheckpoint } from '../src/training/checkpoint.js';
import { runCli } from './cliProcess.js';

const MNIST = ['train-mnist', '--alpha', '0.25', '--limit-train', '256', '--limit-test', '64', '--batch-size', '32', '--seed', '1',
  '--progress', 'none', '--backend', 'wasm'];

let tmp: string;
const mounts: string[] = [];

function mount(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
    mounts.push(dir);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'disks-cli-'));
});
afterAll(async () => {
  for (const dir of mounts) execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Exactly one error line, the last, and no stack trace. */
function expectOneError(result: { code: number; stderr: string }): string {
  expect(result.code, result.stderr).toBe(2);
  const errors = result.stderr.trim().split('\n').filter((l) => /error|^\s+at /i.test(l));
  expect(errors, result.stderr).toHaveLength(1);
  expect(result.stderr.trim().split('\n').at(-1)).toBe(errors[0]);
  return errors[0]!;
}

/** Fills the file system of `dir` with one file until about `leave` bytes are free. */
async function fillUpTo(dir: string, leave: number): Promise<string> {
  const filler = path.join(dir, 'filler');
  const { bavail, bsize } = await fs.statfs(dir);
  await fs.writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - leave)));
  return filler;
}

async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await fs.readdir(dir, { recursive: true })) {
    const file = path.join(dir, name);
    if ((await fs.stat(file)).isFile()) out[name] = createHash('sha256').update(await fs.readFile(file)).digest('hex');
  }
  return out;
}

/** Nothing half-written: no temporaries, no hidden checkpoint directories, no lock, no weights model.json does not list. */
async function expectNoLeftovers(dir: string): Promise<void> {
  const names = await fs.readdir(dir, { recursive: true });
  expect(names.filter((n) => /\.tmp$|(^|\/)\.last-|\.lock$/.test(n)), names.join(' ')).toEqual([]);
  const listed = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths;
  expect(names.filter((n) => /^weights-.*\.bin$/.test(n))).toEqual(listed);
}

const canMount = (() => {
  const probe = path.join(os.tmpdir(), `disks-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-rf', probe]);
  }
})();

describe.skipIf(!canMount)('a full disk while saving (tmpfs; skipped where `mount -t tmpfs` is not allowed, i.e. not root)', () => {
  it('fails the checkpoint save with one line naming it and ENOSPC, keeping the model just saved and no temporaries', async () => {
    const disk = path.join(tmp, 'small');
    await fs.mkdir(disk);
    expect(mount(disk, 'size=4m')).toBe(true);
    // Room for model.json and its weights, not for last/ on top (which holds them again, plus Adam's state).
    await fillUpTo(disk, 280 * 1024);
    const out = path.join(disk, 'run');
    const result = await runCli([...MNIST, '--epochs', '1', '--out', out]);
    expect(expectOneError(result)).toBe(
      `error: ${out}/last/: cannot write the checkpoint: ENOSPC (no space left on the device; free some space or write to another disk)`,
    );
    await expectNoLeftovers(out);
    await expect(fs.stat(path.join(out, 'last'))).rejects.toThrow('ENOENT');
    (await loadModel(out)).dispose();
  });

  it('keeps the previous best model and checkpoint byte for byte when a later save hits ENOSPC, and resumes once there is room', async () => {
    const disk = path.join(tmp, 'full');
    await fs.mkdir(disk);
    expect(mount(disk, 'size=4m')).toBe(true);
    const out = path.join(disk, 'run');
    const first = await runCli([...MNIST, '--epochs', '1', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const before = await digests(out);

    const filler = await fillUpTo(disk, 24 * 1024);
    const failed = await runCli(['train-mnist', '--resume', out, '--epochs', '2', '--progress', 'none', '--backend', 'wasm']);
    expect(expectOneError(failed)).toMatch(new RegExp(`^error: ${out}/(model\\.json|weights-[\\w-]+\\.bin|last/|metrics\\.jsonl|loss\\.svg|loss\\.png): cannot [a-z ]+: ENOSPC \\(no space left on the device; free some space or write to another disk\\)$`));
    const after = await digests(out);
    for (const name of Object.keys(before).filter((n) => n === 'model.json' || n.startsWith('weights-') || n.startsWith('last'))) {
      expect(after[name], name).toBe(before[name]);
    }
    await expectNoLeftovers(out);

    await fs.rm(filler);
    const resumed = await runCli(['train-mnist', '--resume', out, '--epochs', '2', '--progress', 'none', '--backend', 'wasm']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const checkpoint = await loadCheckpoint(out);
    expect(checkpoint.state.epoch).toBe(2);
    checkpoint.model.dispose();
    tf.dispose(checkpoint.optimizerWeights.map((w) => w.tensor));
    await expectNoLeftovers(out);
  });
});

describe('an --out that cannot be created', () => {
  it('is one line naming the path and the errno, for each way it can fail', async () => {
    const file = path.join(tmp, 'a-file');
    await fs.writeFile(file, 'not a directory');
    const locked = path.join(tmp, 'root-only');
    await fs.mkdir(locked, { mode: 0o755 });
    const cases: { args: string[]; line: string; uid?: number }[] = [
      { args: [...MNIST, '--out', path.join(file, 'run')], line: `error: ${file}/run: cannot create the output directory: ENOTDIR (a part of the path is a file, not a directory; choose another path)` },
      { args: [...MNIST, '--out', file], line: `error: ${file}: cannot create the output directory: EEXIST (a file is in the way; remove it or choose another path)` },
      { args: ['finetune', '--data', tmp, '--out', path.join(file, 'x'), '--backend', 'cpu'], line: `error: ${file}/x: cannot create the output directory: ENOTDIR (a part of the path is a file, not a directory; choose another path)` },
    ];
    // Root may write anywhere: the permission case runs the CLI as nobody.
    if (process.getuid?.() === 0) {
      cases.push({ args: [...MNIST, '--out', path.join(locked, 'run')], uid: 65534, line: `error: ${locked}/run: cannot create the output directory: EACCES (permission denied; choose a directory you can write to)` });
    }
    if (canMount) {
      const readOnly = path.join(tmp, 'read-only');
      await fs.mkdir(readOnly);
      expect(mount(readOnly, 'size=64k,ro')).toBe(true);
      cases.push({ args: [...MNIST, '--out', path.join(readOnly, 'run')], line: `error: ${readOnly}/run: cannot create the output directory: EROFS (read-only file system; choose a writable directory)` });
    }
    const results = await Promise.all(cases.map((c) => runCli(c.args, { uid: c.uid })));
    results.forEach((result, i) => {
      const lines = result.stderr.trim().split('\n').filter((l) => !l.startsWith('backend:'));
      expect(result.code, result.stderr).toBe(2);
      expect(lines).toEqual([cases[i]!.line]);
    });
  });
});
