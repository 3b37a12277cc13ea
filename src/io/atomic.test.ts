import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeTemporariesSync, trackTemporary, writeFileAtomic } from './atomic.js';
import { FileError } from './fileError.js';

describe('writeFileAtomic', () => {
  it('replaces the file whole, and on failure keeps the old content, removes its temporary and names the file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'atomic-'));
    const file = path.join(dir, 'a.json');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, 'new');
    expect(await fs.readFile(file, 'utf8')).toBe('new');
    // A directory where the file should go: the rename fails.
    const blocked = path.join(dir, 'blocked');
    await fs.mkdir(path.join(blocked, 'inside'), { recursive: true });
    const error = await writeFileAtomic(blocked, 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileError);
    expect((error as FileError).message).toMatch(new RegExp(`^${blocked}: cannot write: (EISDIR|ENOTEMPTY|EEXIST) `));
    expect((await fs.readdir(dir)).sort()).toEqual(['a.json', 'blocked']);
  });

  it('removes tracked temporaries on demand (what the exit hook does)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'atomic-'));
    const file = path.join(dir, 'x.0123abcd.tmp');
    await fs.writeFile(file, '');
    const untrack = trackTemporary(file);
    removeTemporariesSync();
    untrack();
    expect(await fs.readdir(dir)).toEqual([]);
  });
});
