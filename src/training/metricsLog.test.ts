import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsLog } from './metricsLog.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('MetricsLog.open', () => {
  it('names a file given as the run directory (or above it) in one line', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'metrics-'));
    const file = path.join(dir, 'taken');
    await writeFile(file, 'not a directory');
    await expect(MetricsLog.open(file, 0)).rejects.toThrow(`out: \`${file}\` is a file (or under one); expected a directory`);
    await expect(MetricsLog.open(path.join(file, 'run'), 0)).rejects.toThrow(/is a file \(or under one\)/);
  });

  it('starts afresh in a new directory', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'metrics-'));
    const log = await MetricsLog.open(path.join(dir, 'a', 'b'), 0);
    expect(log.all).toEqual([]);
  });
});
