import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { tinyModel, weightValues } from '../../test/tinyModel.js';
import { tf } from '../tf.js';
import { loadCheckpoint, saveCheckpoint, warnIfReplacingRun } from './checkpoint.js';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ckpt-'));
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const state = (epoch: number) => ({
  epoch, epochs: 3, globalStep: epoch * 10, seed: 1, batchSize: 8, history: [], best: null, optimizerName: 'adam',
});

/** An Adam optimizer with real moments: one step on the model's weights. */
function adamAfterStep(model: tf.LayersModel): tf.Optimizer {
  const optimizer = tf.train.adam(1e-3);
  const x = tf.ones([2, 28, 28, 1]);
  optimizer.minimize(() => (model.apply(x, { training: true }) as tf.Tensor).square().mean() as tf.Scalar);
  x.dispose();
  return optimizer;
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips the weights, the optimizer state and the trainer state without leaking', async () => {
    const dir = path.join(tmp, 'roundtrip');
    const model = tinyModel(1);
    const optimizer = adamAfterStep(model);
    const before = tf.memory().numTensors;
    await saveCheckpoint(dir, model, optimizer, state(2));
    expect(tf.memory().numTensors).toBe(before);
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.state).toMatchObject({ epoch: 2, globalStep: 20, optimizer: { name: 'adam' } });
    expect(await weightValues(ckpt.model)).toEqual(await weightValues(model));
    const saved = await optimizer.getWeights();
    expect(ckpt.optimizerWeights.map((w) => w.name)).toEqual(saved.map((w) => w.name));
    for (let i = 0; i < saved.length; i++) expect(await ckpt.optimizerWeights[i].tensor.data()).toEqual(await saved[i].tensor.data());
    tf.dispose([...ckpt.optimizerWeights.map((w) => w.tensor), saved[0].tensor]);
    ckpt.model.dispose();
    optimizer.dispose();
    model.dispose();
  });

  it('leaves a complete checkpoint, old or new, whichever file operation of a save fails', async () => {
    const dir = path.join(tmp, 'atomic');
    const model1 = tinyModel(2);
    const optimizer1 = adamAfterStep(model1);
    const model2 = tinyModel(9);
    const optimizer2 = adamAfterStep(model2);
    await saveCheckpoint(dir, model1, optimizer1, state(1));
    const epoch1 = await weightValues(model1);
    const epoch2 = await weightValues(model2);

    // Fail the n-th rename, write or mkdir of the second save, for every n until one save succeeds.
    const fsp = (await import('node:fs')).promises;
    const originals = { rename: fsp.rename, open: fsp.open, mkdir: fsp.mkdir };
    for (let n = 1; n < 100; n++) {
      let calls = 0;
      const failNth = <F extends (...a: never[]) => Promise<unknown>>(original: F) => (async (...args: Parameters<F>) => {
        if (++calls === n) throw Object.assign(new Error('simulated crash'), { code: 'EIO' });
        return original.apply(fsp, args);
      }) as unknown as F;
      const spies = [
        vi.spyOn(fsp, 'rename').mockImplementation(failNth(originals.rename)),
        vi.spyOn(fsp, 'open').mockImplementation(failNth(originals.open)),
        vi.spyOn(fsp, 'mkdir').mockImplementation(failNth(originals.mkdir)),
      ];
      let failed = false;
      try {
        await saveCheckpoint(dir, model2, optimizer2, state(2));
      } catch {
        failed = true;
      }
      spies.forEach((s) => s.mockRestore());
      const ckpt = await loadCheckpoint(dir);
      const expected = ckpt.state.epoch === 1 ? epoch1 : epoch2;
      expect(await weightValues(ckpt.model), `failure at operation ${n}`).toEqual(expected);
      expect(ckpt.optimizerWeights.length).toBeGreaterThan(1);
      tf.dispose(ckpt.optimizerWeights.map((w) => w.tensor));
      ckpt.model.dispose();
      if (!failed) {
        expect(ckpt.state.epoch).toBe(2);
        expect(n).toBeGreaterThan(5);
        break;
      }
      expect(n).toBeLessThan(99);
      await saveCheckpoint(dir, model1, optimizer1, state(1)); // back to epoch 1 on disk for the next n
    }
    const left = (await fs.readdir(dir)).filter((f) => f.startsWith('.last-'));
    expect(left).toEqual([]);
    [optimizer1, optimizer2].forEach((o) => o.dispose());
    [model1, model2].forEach((m) => m.dispose());
  });

  it('recovers the previous checkpoint when a crash fell between the two renames', async () => {
    const dir = path.join(tmp, 'between');
    const model = tinyModel(3);
    const optimizer = adamAfterStep(model);
    await saveCheckpoint(dir, model, optimizer, state(4));
    await fs.rename(path.join(dir, 'last'), path.join(dir, '.last-0badc0de.old'));
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.state.epoch).toBe(4);
    expect(await fs.stat(path.join(dir, 'last', 'state.json'))).toBeTruthy();
    tf.dispose(ckpt.optimizerWeights.map((w) => w.tensor));
    ckpt.model.dispose();
    optimizer.dispose();
    model.dispose();
  });

  it('names the directory when there is nothing to resume', async () => {
    const dir = path.join(tmp, 'empty');
    await fs.mkdir(dir);
    await expect(loadCheckpoint(dir)).rejects.toThrow(`${dir}: no checkpoint to resume; expected ${path.join(dir, 'last', 'state.json')}`);
  });
});

describe('warnIfReplacingRun', () => {
  it('warns once when a fresh run would replace a run, naming stale quantized copies, and says nothing otherwise', async () => {
    const dir = path.join(tmp, 'replaced');
    const warnings: string[] = [];
    const logger = { warn: (m: string) => void warnings.push(m) };
    await warnIfReplacingRun(dir, logger);
    await fs.mkdir(path.join(dir, 'quantized-uint8'), { recursive: true });
    await warnIfReplacingRun(dir, logger);
    expect(warnings).toEqual([]);
    await fs.writeFile(path.join(dir, 'model.json'), '{}');
    await warnIfReplacingRun(dir, logger);
    expect(warnings).toEqual([`${dir} already holds a run: this one replaces its model.json, last/ and metrics.jsonl (and leaves quantized-uint8 from the old run); `
      + `to continue that run instead, resume it (--resume ${dir}, or the resume option)`]);
  });
});
