// Ctrl-C and SIGTERM during train-mnist and finetune, with 1 and 2 workers, mid-epoch and
// mid-save, against real processes. The mid-save cases use MOBILENETV2_TEST_PAUSE_SAVE
// (src/training/checkpoint.ts) to hold a checkpoint save half done while the signal arrives.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageFolder } from '../scripts/make-image-folder.js';
import { loadModel } from '../src/io/fileSystem.js';
import { LOCK_FILE } from '../src/io/runLock.js';
import { tf } from '../src/tf.js';
import { loadCheckpoint } from '../src/training/checkpoint.js';
import { type CliProcess, lastLine, runCli, startCli } from './cliProcess.js';

// Guards against hangs on a loaded machine (a step of these models takes milliseconds); that a
// stop comes within a step is checked by counting the steps logged after the signal.
const STOP_MS = 20_000;
const AT_ONCE_MS = 5_000;

let tmp: string;
let digits: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'signals-cli-'));
  digits = path.join(tmp, 'digits');
  await makeImageFolder(digits, { perClass: 24, size: 16, digits: '0123', seed: 2 });
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

const MNIST = ['train-mnist', '--alpha', '0.25', '--limit-train', '640', '--limit-test', '64', '--batch-size', '16', '--epochs', '20',
  '--seed', '1', '--progress', 'lines', '--log-every', '1', '--backend', 'wasm'];
const FINETUNE = ['finetune', '--data', '', '--arch', 'mnist', '--alpha', '0.25', '--input-size', '16', '--batch-size', '4', '--epochs', '20',
  '--unfreeze-after', '1', '--seed', '1', '--progress', 'lines', '--log-every', '1', '--backend', 'wasm'];
const finetune = () => FINETUNE.map((a, i) => (FINETUNE[i - 1] === '--data' ? digits : a));

/** Where a run's files are left: every one a checkpoint or a plot, none half-written. */
async function expectCleanRun(out: string, lastEpoch: number): Promise<void> {
  const names = await fs.readdir(out);
  expect(names.filter((n) => n.endsWith('.tmp') || n.startsWith('.last-') || n === LOCK_FILE), names.join(' ')).toEqual([]);
  expect(await fs.readdir(path.join(out, 'last'))).not.toContainEqual(expect.stringMatching(/\.tmp$/));
  const checkpoint = await loadCheckpoint(out);
  expect(checkpoint.state.epoch).toBe(lastEpoch);
  tf.dispose(checkpoint.optimizerWeights.map((w) => w.tensor));
  checkpoint.model.dispose();
  const best = await loadModel(out);
  best.dispose();
}

/** The last step the progress lines (--log-every 1) report, as [epoch, step]. */
function lastStep(stderr: string): [number, number] {
  const steps = [...stderr.matchAll(/^epoch (\d+)\/\d+ step (\d+)\//gm)];
  const last = steps.at(-1)!;
  return [Number(last[1]), Number(last[2])];
}

/**
 * Sends `signal` once `p` reaches `when` (a step line); resolves to the milliseconds it took to
 * exit and the exit code, after checking in metrics.jsonl that at most 3 more steps ran (the one
 * in flight, and what the pipe had not delivered yet).
 */
async function interrupt(p: CliProcess, signal: NodeJS.Signals, when: RegExp, out: string): Promise<{ ms: number; code: number }> {
  await p.waitFor(when);
  const sent = Date.now();
  p.child.kill(signal);
  const [epoch, step] = lastStep(p.stderr());
  const { code, at } = await p.exited;
  const logged = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const after = logged.filter((r) => r.type === 'step' && (r.epoch > epoch || (r.epoch === epoch && r.step > step)));
  expect(after.length, `steps logged after the signal: ${JSON.stringify(after.map((r) => [r.epoch, r.step]))}`).toBeLessThanOrEqual(3);
  return { ms: at - sent, code };
}

const stoppedLine = (signal: string, where: string, out: string, best: number, last: number, command: string, flags = '--backend wasm') =>
  `stopped by ${signal} ${where}; saved ${out}/model.json (epoch ${best}, the best) and ${out}/last/ (epoch ${last} of 20); `
  + `resume with: mobilenetv2 ${command} --resume '${out}' ${flags}`;

// Each case is its own process: they run side by side.
describe.concurrent('train-mnist stopped by a signal', () => {
  it('SIGINT mid-epoch (1 worker): stops within a step, says what was saved and how to resume, and the resume continues', async () => {
    // A space and a non-ASCII letter: the printed command quotes the path for the shell.
    const out = path.join(tmp, 'mnist run é');
    const p = startCli([...MNIST, '--out', out]);
    const { ms, code } = await interrupt(p, 'SIGINT', /epoch 2\/20 step 3\//, out);
    expect(code, p.stderr()).toBe(130);
    expect(ms).toBeLessThan(STOP_MS);
    expect(lastLine(p.stderr())).toBe(stoppedLine('SIGINT', 'in epoch 2 (its progress is lost)', out, 1, 1, 'train-mnist'));
    await expectCleanRun(out, 1);

    const resumed = await runCli(['train-mnist', '--resume', out, '--epochs', '2', '--backend', 'wasm', '--progress', 'none']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const epochs = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    await expectCleanRun(out, 2);
  });

  it('SIGTERM mid-epoch (2 workers): exits 143 with the resume command, which repeats --workers', async () => {
    const out = path.join(tmp, 'mnist-term');
    const p = startCli([...MNIST, '--workers', '2', '--out', out]);
    const { ms, code } = await interrupt(p, 'SIGTERM', /epoch 2\/20 step 2\//, out);
    expect(code, p.stderr()).toBe(143);
    expect(ms).toBeLessThan(STOP_MS);
    expect(lastLine(p.stderr())).toBe(stoppedLine('SIGTERM', 'in epoch 2 (its progress is lost)', out, 1, 1, 'train-mnist', '--workers 2 --backend wasm').replace(`'${out}'`, out));
    await expectCleanRun(out, 1);
  });

  it('SIGINT mid-save (1 worker): the save finishes, then the run stops with it', async () => {
    const out = path.join(tmp, 'mnist-save');
    const marker = path.join(tmp, 'mnist-save.pause');
    const p = startCli([...MNIST, '--out', out], { env: { MOBILENETV2_TEST_PAUSE_SAVE: marker } });
    await p.waitFor({ file: marker });
    p.child.kill('SIGINT');
    // The save is held open: the process waits for it rather than leaving it half done.
    await new Promise((r) => setTimeout(r, 500));
    expect(p.child.exitCode).toBe(null);
    const released = Date.now();
    await fs.rm(marker);
    const { code, at } = await p.exited;
    expect(code, p.stderr()).toBe(130);
    expect(at - released).toBeLessThan(STOP_MS);
    expect(lastLine(p.stderr())).toBe(stoppedLine('SIGINT', 'after epoch 1', out, 1, 1, 'train-mnist').replace(`'${out}'`, out));
    await expectCleanRun(out, 1);
  });

  it('a second SIGINT mid-save (2 workers) exits at once, leaving the previous checkpoint and no temporaries', async () => {
    const out = path.join(tmp, 'mnist-twice');
    const marker = path.join(tmp, 'mnist-twice.pause');
    const p = startCli([...MNIST, '--workers', '2', '--out', out], { env: { MOBILENETV2_TEST_PAUSE_SAVE: marker } });
    await p.waitFor({ file: marker });
    await fs.rm(marker);
    // Epoch 2's save, held half done.
    await p.waitFor(/epoch 2\/20 step 40\/40/);
    await p.waitFor({ file: marker });
    p.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    const sent = Date.now();
    p.child.kill('SIGINT');
    const { code, at } = await p.exited;
    expect(code, p.stderr()).toBe(130);
    expect(at - sent).toBeLessThan(AT_ONCE_MS);
    expect(existsSync(marker)).toBe(true);
    expect(lastLine(p.stderr())).toMatch(new RegExp(`^stopped at once by a second SIGINT in epoch 2 \\(its progress is lost\\); saved ${out}/model.json \\(epoch [12], the best\\) and ${out}/last/ \\(epoch 1 of 20\\); resume with: mobilenetv2 train-mnist --resume ${out} --workers 2 --backend wasm$`));
    await expectCleanRun(out, 1);
    await fs.rm(marker);
  });
});

describe.concurrent('finetune stopped by a signal', () => {
  it('SIGTERM mid-save (1 worker): the save finishes, and --resume continues into the second stage', async () => {
    const out = path.join(tmp, 'ft-save');
    const marker = path.join(tmp, 'ft-save.pause');
    const p = startCli([...finetune(), '--out', out], { env: { MOBILENETV2_TEST_PAUSE_SAVE: marker } });
    await p.waitFor({ file: marker });
    p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await fs.rm(marker);
    const { code } = await p.exited;
    expect(code, p.stderr()).toBe(143);
    expect(lastLine(p.stderr())).toBe(stoppedLine('SIGTERM', 'after epoch 1', out, 1, 1, 'finetune').replace(`'${out}'`, out));
    await expectCleanRun(out, 1);

    const resumed = await runCli(['finetune', '--resume', out, '--epochs', '3', '--backend', 'wasm', '--progress', 'none', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(lastLine(resumed.stdout));
    expect(summary).toMatchObject({ epochs: 3, classes: ['0', '1', '2', '3'], out });
    expect(summary.stages.map((s: { trains: string; firstEpoch: number }) => [s.trains, s.firstEpoch])).toEqual([['all', 2]]);
    expect(resumed.stderr).toContain('stage 2: training every layer');
    await expectCleanRun(out, 3);

    const changed = await runCli(['finetune', '--resume', out, '--lr', '0.5', '--backend', 'wasm']);
    expect(changed.code).toBe(2);
    expect(changed.stderr.trim().split('\n').filter((l) => !l.startsWith('backend:'))).toEqual([
      "error: learningRate=0.5 differs from the resumed run's learningRate (the default); a resumed run keeps its settings (only epochs, out, data, workers and cache may change)",
    ]);
  });

  it('SIGINT mid-epoch (2 workers): stops within a step, and --resume picks up in the same stage', async () => {
    const out = path.join(tmp, 'ft-epoch');
    const p = startCli([...finetune(), '--workers', '2', '--out', out]);
    const { ms, code } = await interrupt(p, 'SIGINT', /epoch 3\/20 step 2\//, out);
    expect(code, p.stderr()).toBe(130);
    expect(ms).toBeLessThan(STOP_MS);
    expect(lastLine(p.stderr())).toMatch(new RegExp(`^stopped by SIGINT in epoch 3 \\(its progress is lost\\); saved ${out}/model.json \\(epoch [12], the best\\) and ${out}/last/ \\(epoch 2 of 20\\); resume with: mobilenetv2 finetune --resume ${out} --workers 2 --backend wasm$`));
    await expectCleanRun(out, 2);

    const resumed = await runCli(['finetune', '--resume', out, '--epochs', '3', '--workers', '2', '--backend', 'wasm', '--progress', 'none', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(lastLine(resumed.stdout)).stages.map((s: { firstEpoch: number; lastEpoch: number }) => [s.firstEpoch, s.lastEpoch])).toEqual([[2, 3]]);
    await expectCleanRun(out, 3);
  });
});
