// Two runs on one --out, against real processes: the second is refused while the first lives,
// and a run killed with SIGKILL (no chance to clean up) does not leave the directory stuck.
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../src/io/runLock.js';
import { runCli, startCli } from './cliProcess.js';

const MNIST = ['train-mnist', '--alpha', '0.25', '--limit-train', '256', '--limit-test', '64', '--batch-size', '32', '--seed', '1',
  '--progress', 'lines', '--log-every', '1', '--backend', 'wasm'];

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lock-cli-'));
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

function expectRefused(result: { code: number; stderr: string }, out: string, pid: number): void {
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trim().split('\n').filter((l) => !l.startsWith('backend:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error: ${out} is in use by another run \\(pid ${pid}, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: main\\.ts train-mnist .*\\); `
    + 'wait for it to finish or choose another output directory$'));
}

describe('two runs, one --out', () => {
  it('refuses a second run (train-mnist or finetune) while the first runs, and takes over after the first is SIGKILLed', async () => {
    const out = path.join(tmp, 'shared');
    const first = startCli([...MNIST, '--epochs', '50', '--out', out]);
    await first.waitFor(/epoch 1\/50 step 2\//);
    const lock = JSON.parse(readFileSync(path.join(out, LOCK_FILE), 'utf8'));
    expect(lock).toMatchObject({ pid: first.child.pid, hostname: os.hostname() });

    const [again, resumed, finetune] = await Promise.all([
      runCli([...MNIST, '--epochs', '1', '--out', out]),
      runCli(['train-mnist', '--resume', out, '--backend', 'wasm']),
      runCli(['finetune', '--data', tmp, '--out', out, '--backend', 'wasm']),
    ]);
    for (const result of [again, resumed, finetune]) expectRefused(result, out, first.child.pid!);
    expect(first.child.exitCode).toBe(null);

    // No handler runs on SIGKILL: the lock stays behind, naming a process that is gone.
    await first.waitFor({ file: path.join(out, 'last', 'state.json') });
    first.child.kill('SIGKILL');
    expect((await first.exited).code).toBe(137);
    expect(existsSync(path.join(out, LOCK_FILE))).toBe(true);

    // One more epoch than the killed run saved (epochs are short, it may have saved several).
    const saved = JSON.parse(readFileSync(path.join(out, 'last', 'state.json'), 'utf8')).epoch as number;
    const next = await runCli(['train-mnist', '--resume', out, '--epochs', String(saved + 1), '--progress', 'none', '--backend', 'wasm']);
    expect(next.code, next.stderr).toBe(0);
    expect(existsSync(path.join(out, LOCK_FILE))).toBe(false);
  });

  it('treats a lock whose pid now belongs to another process (pid reuse) as stale', async () => {
    const out = path.join(tmp, 'reused');
    await fs.mkdir(out);
    // This test runner's pid is alive, but it started at another time than the lock records.
    const stale = { pid: process.pid, hostname: os.hostname(), bootId: null, startTicks: 1, command: 'train-mnist', startedAt: '2020-01-01T00:00:00.000Z', token: 'old' };
    await fs.writeFile(path.join(out, LOCK_FILE), JSON.stringify(stale));
    const result = await runCli([...MNIST, '--epochs', '1', '--progress', 'none', '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(path.join(out, LOCK_FILE))).toBe(false);
  });

  it('refuses a lock held on another host, saying how to clear it if that run is gone', async () => {
    const out = path.join(tmp, 'remote');
    await fs.mkdir(out);
    const remote = { pid: 4242, hostname: 'elsewhere', bootId: null, startTicks: null, command: 'cli.js train-mnist', startedAt: '2020-01-01T00:00:00.000Z', token: 'remote' };
    await fs.writeFile(path.join(out, LOCK_FILE), JSON.stringify(remote));
    const result = await runCli([...MNIST, '--epochs', '1', '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`error: ${out} is in use by another run (pid 4242 on elsewhere, since 2020-01-01T00:00:00.000Z: cli.js train-mnist); `
      + `wait for it to finish or choose another output directory; if that run is gone, delete ${path.join(out, LOCK_FILE)}`);
  });
});
