import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { LOCK_FILE, lockNewRunDirectory, lockRunDirectory } from './runLock.js';

const fresh = () => fs.mkdtemp(path.join(os.tmpdir(), 'run-lock-'));

describe('lockRunDirectory', () => {
  it('creates the directory and the lock, shares it within the process, and removes it with the last release', async () => {
    const dir = path.join(await fresh(), 'a', 'b');
    const outer = await lockRunDirectory(dir);
    const inner = await lockRunDirectory(dir);
    const file = path.join(dir, LOCK_FILE);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({ pid: process.pid, hostname: os.hostname() });
    await inner.release();
    await inner.release();
    expect(existsSync(file)).toBe(true);
    await outer.release();
    expect(existsSync(file)).toBe(false);
    // It created a/ and a/b/, which the run left empty: they go too.
    expect(existsSync(path.dirname(dir))).toBe(false);
    expect(existsSync(path.dirname(path.dirname(dir)))).toBe(true);
  });

  it('takes over a lock of a process that is gone, or that cannot be read, and clears the temporaries left beside it', async () => {
    const dir = await fresh();
    const file = path.join(dir, LOCK_FILE);
    // Pid 2^22 + 1 is above Linux's pid_max: no process has it.
    await fs.writeFile(file, JSON.stringify({ pid: 4194305, hostname: os.hostname(), bootId: null, startTicks: null, command: 'x', startedAt: '', token: 't' }));
    await fs.writeFile(path.join(dir, 'model.json.0123abcd.tmp'), 'half');
    await fs.mkdir(path.join(dir, '.last-0123abcd.tmp'));
    await fs.writeFile(path.join(dir, 'weights-orphan-1.bin'), 'listed by no model.json');
    const lock = await lockRunDirectory(dir);
    expect((await fs.readdir(dir)).sort()).toEqual([LOCK_FILE]);
    await lock.release();

    await fs.writeFile(file, '{"half');
    await (await lockRunDirectory(dir)).release();
  });

  it('leaves a lock that another holder took in the meantime', async () => {
    const dir = await fresh();
    const lock = await lockRunDirectory(dir);
    const theirs = JSON.stringify({ pid: 1, hostname: 'elsewhere', token: 'theirs' });
    await fs.writeFile(path.join(dir, LOCK_FILE), theirs);
    await lock.release();
    expect(await fs.readFile(path.join(dir, LOCK_FILE), 'utf8')).toBe(theirs);
  });
});

describe('lockNewRunDirectory', () => {
  it('locks <root>/<prefix>-<UTC timestamp>, numbered when a run of the same second has it already', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-03T07:08:09.500Z'));
    const root = path.join(await fresh(), 'runs');
    try {
      const first = await lockNewRunDirectory('mnist', root);
      expect(first.dir).toBe(path.join(root, 'mnist-2026-12-03-07-08-09'));
      expect(existsSync(path.join(first.dir, LOCK_FILE))).toBe(true);
      const second = await lockNewRunDirectory('mnist', root);
      expect(second.dir).toBe(`${first.dir}-2`);
      await fs.mkdir(`${first.dir}-3`);
      const fourth = await lockNewRunDirectory('mnist', root);
      expect(fourth.dir).toBe(`${first.dir}-4`);
      for (const { lock } of [first, second, fourth]) await lock.release();
      // The directories the locks created go again with them, as lockRunDirectory's do.
      expect((await fs.readdir(root)).sort()).toEqual(['mnist-2026-12-03-07-08-09-3']);
    } finally {
      vi.useRealTimers();
    }
  });
});
