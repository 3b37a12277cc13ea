import { execFile, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.js';
import { loadCheckpoint } from '../src/training/checkpoint.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const cli = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'workers-cli-'));
  await tf.setBackend('cpu');
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

describe('train-mnist --workers', () => {
  it('stops every worker on Ctrl-C and leaves the last checkpoint intact', async () => {
    const out = path.join(tmp, 'interrupted');
    const child = cli(['train-mnist', '--limit-train', '640', '--limit-test', '100', '--epochs', '50', '--workers', '2', '--seed', '1',
      '--out', out, '--progress', 'lines', '--backend', 'wasm']);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
    const deadline = Date.now() + 90_000;
    // Interrupt during the epoch after the first checkpoint.
    while (!existsSync(path.join(out, 'last', 'state.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(path.join(out, 'last')), stderr).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const interrupted = Date.now();
    child.kill('SIGINT');
    await exited;
    expect(Date.now() - interrupted).toBeLessThan(10_000);
    expect(stderr).toMatch(/2 workers \(this thread and 1 worker threads\): up to 32 images per step each, about [\d.]+ (GB|MB) of memory per replica/);
    const checkpoint = await loadCheckpoint(out);
    expect(checkpoint.state.epoch).toBeGreaterThanOrEqual(1);
    checkpoint.model.dispose();
  }, 120_000);

  it('rejects a bad --workers with one line', async () => {
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train-mnist', '--workers', 'many'], { cwd: ROOT })
      .then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`error: --workers must be 'auto' or an integer >= 1; received "many"`);
  }, 60_000);
});
