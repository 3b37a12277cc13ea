import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModel, weightValues } from '../../test/tinyModel.js';
import type { Batch, BatchOptions, Dataset } from '../data/dataset.js';
import { loadMnist, type MnistDataset } from '../data/mnist.js';
import { loadModel } from '../io/fileSystem.js';
import { tf } from '../tf.js';
import { loadCheckpoint } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { NonFiniteLossError, train } from './trainer.js';

let tmp: string;
let trainData: MnistDataset;
let testData: MnistDataset;

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'trainer-'));
  trainData = await loadMnist({ limit: 256 });
  testData = await loadMnist({ split: 'test', limit: 128 });
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

const outDir = (name: string) => path.join(tmp, name);

describe('train', () => {
  it('reduces the loss, updates BN moving statistics, and leaks no tensors', async () => {
    const model = tinyModel(1);
    const before = tf.memory().numTensors;
    const movingMean0 = await weightValues(model).then((w) => w['bn_a/moving_mean']);
    const initial = await evaluate(model, trainData);
    const counts: number[] = [];
    const result = await train(model, trainData, {
      epochs: 4, batchSize: 32, learningRate: 1e-2, seed: 1, validationData: testData,
      // At an epoch's last step no next batch is waiting, so only the other steps compare.
      callbacks: { onBatchEnd: (m) => void (m.step < m.stepsPerEpoch && counts.push(tf.memory().numTensors)) },
    });
    const final = await evaluate(model, trainData);
    expect(final.loss).toBeLessThan(initial.loss * 0.9);
    expect(result.history[3].trainLoss).toBeLessThan(result.history[0].trainLoss);
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    const movingMean1 = await weightValues(model).then((w) => w['bn_a/moving_mean']);
    expect(movingMean1).not.toEqual(movingMean0);
    // Adam creates its moments at the first step; from then on the count must not move.
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('gives gradients only to trainable weights and keeps frozen BN statistics', async () => {
    const model = tinyModel(2);
    for (const name of ['conv_a', 'bn_a']) model.getLayer(name).trainable = false;
    const w0 = await weightValues(model);
    await train(model, trainData, { epochs: 1, batchSize: 64, seed: 1 });
    const w1 = await weightValues(model);
    for (const name of ['conv_a/kernel', 'bn_a/gamma', 'bn_a/beta', 'bn_a/moving_mean', 'bn_a/moving_variance']) {
      expect(w1[name], name).toEqual(w0[name]);
    }
    for (const name of ['conv_b/kernel', 'bn_b/gamma', 'bn_b/moving_mean', 'predictions/kernel']) {
      expect(w1[name], name).not.toEqual(w0[name]);
    }
    model.dispose();
  });

  it('repeats a run exactly with the same seed, and differs with another', async () => {
    const run = async (seed: number) => {
      const model = tinyModel(3);
      const result = await train(model, trainData, { epochs: 1, batchSize: 32, seed });
      const w = await weightValues(model);
      model.dispose();
      return { loss: result.history[0].trainLoss, kernel: w['predictions/kernel'] };
    };
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(b).toEqual(a);
    expect(c.loss).not.toBe(a.loss);
  });

  it('resumes from last/ to exactly the result of an uninterrupted run (dropout 0: TF.js dropout is not seedable)', async () => {
    const options = { batchSize: 64, seed: 5, validationData: testData, plots: false, learningRate: (s: number) => 1e-3 * (1 + (s % 3)) };
    const straight = tinyModel(4);
    const full = await train(straight, trainData, { ...options, epochs: 3, out: outDir('straight') });

    const first = tinyModel(4);
    await train(first, trainData, { ...options, epochs: 1, out: outDir('resumed') });
    first.dispose();
    const ckpt = await loadCheckpoint(outDir('resumed'));
    expect(ckpt.state.epoch).toBe(1);
    await expect(train(ckpt.model, trainData, { ...options, epochs: 3, optimizer: 'sgd', resume: ckpt }))
      .rejects.toThrow('optimizer="sgd" differs from the resumed checkpoint\'s "adam"; a resumed run keeps its optimizer (and its state)');
    const resumed = await train(ckpt.model, trainData, { ...options, epochs: 3, out: outDir('resumed'), resume: ckpt });

    expect(resumed.history).toEqual(full.history.map((h, i) => ({ ...h, ...pick(resumed.history[i]) })));
    expect(await weightValues(ckpt.model)).toEqual(await weightValues(straight));
    const lines = (await fs.readFile(path.join(outDir('resumed'), 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'epoch').map((l) => l.epoch)).toEqual([1, 2, 3]);
    straight.dispose();
    ckpt.model.dispose();
  });

  it('stops on a NaN loss without touching the weights or the checkpoints of the last good epoch', async () => {
    const out = outDir('nan');
    const model = tinyModel(6);
    let epoch = 0;
    const poisoned: Dataset = {
      ...trainData, length: trainData.length, classNames: trainData.classNames, inputShape: trainData.inputShape,
      mean: trainData.mean, std: trainData.std, labels: () => trainData.labels(),
      async batch(indices: ArrayLike<number>, options?: BatchOptions): Promise<Batch> {
        const b = await trainData.batch(indices, options);
        if (epoch < 2) return b;
        const x = tf.fill(b.x.shape, NaN) as tf.Tensor4D;
        b.x.dispose();
        return { x, y: b.y };
      },
    };
    const before = tf.memory().numTensors;
    let w1: Record<string, Float32Array> = {};
    const run = train(model, poisoned, {
      epochs: 3, batchSize: 64, seed: 1, validationData: testData, out, plots: false,
      callbacks: {
        onEpochBegin: (e) => void (epoch = e),
        onEpochEnd: async () => void (w1 = await weightValues(model)),
      },
    });
    await expect(run).rejects.toThrow(NonFiniteLossError);
    await expect(run).rejects.toThrow(/training loss became NaN at epoch 2, step 1 .* checkpoints in .* are from the last good epoch/);
    expect(tf.memory().numTensors).toBe(before);
    const w = await weightValues(model);
    expect(w['predictions/kernel']).toEqual(w1['predictions/kernel']);
    const best = await loadModel(out);
    expect(best.getUserDefinedMetadata()).toMatchObject({ epoch: 1 });
    expect((await weightValues(best))['predictions/kernel']).toEqual(w1['predictions/kernel']);
    const ckpt = await loadCheckpoint(out);
    expect(ckpt.state.epoch).toBe(1);
    best.dispose();
    ckpt.model.dispose();
    model.dispose();
  });

  it('says nothing was saved when the loss is NaN before the first epoch ends', async () => {
    const out = outDir('nan-first');
    const model = tinyModel(7);
    const poisoned: Dataset = {
      ...trainData, length: trainData.length, classNames: trainData.classNames, inputShape: trainData.inputShape,
      mean: trainData.mean, std: trainData.std, labels: () => trainData.labels(),
      async batch(indices: ArrayLike<number>, options?: BatchOptions): Promise<Batch> {
        const b = await trainData.batch(indices, options);
        const x = tf.fill(b.x.shape, NaN) as tf.Tensor4D;
        b.x.dispose();
        return { x, y: b.y };
      },
    };
    const run = train(model, poisoned, { epochs: 2, batchSize: 64, seed: 1, out, plots: false });
    await expect(run).rejects.toThrow(/training loss became NaN at epoch 1, step 1 .*; training stopped before the first epoch ended, so nothing was saved in /);
    await expect(fs.stat(path.join(out, 'model.json'))).rejects.toThrow();
    model.dispose();
  });

  it("stops early when onEpochEnd returns 'stop', and writes metadata, metrics and plots", async () => {
    const out = outDir('early');
    const model = tinyModel(7);
    const result = await train(model, trainData, {
      epochs: 5, batchSize: 128, seed: 1, validationData: testData, out, logEvery: 1, metadata: { note: 'x' },
      callbacks: { onEpochEnd: (m) => (m.epoch === 2 ? 'stop' : undefined) },
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochs).toBe(2);
    const json = JSON.parse(await fs.readFile(path.join(out, 'model.json'), 'utf8'));
    expect(json.userDefinedMetadata).toMatchObject({
      classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], mean: [0.1307], std: [0.3081],
      inputSize: [28, 28], inputShape: [28, 28, 1], note: 'x', epoch: result.best!.epoch, valAccuracy: result.best!.valAccuracy,
    });
    const lines = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'step')).toHaveLength(4);
    expect(lines.filter((l) => l.type === 'epoch')).toHaveLength(2);
    for (const name of ['loss', 'accuracy']) {
      expect(await fs.readFile(path.join(out, `${name}.svg`), 'utf8')).toMatch(/^<svg/);
      const png = await fs.readFile(path.join(out, `${name}.png`));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
    }
    model.dispose();
  });

  it('rejects bad options with one line', async () => {
    const model = tinyModel(8);
    await expect(train(model, trainData, { epochs: 0 })).rejects.toThrow('epochs must be an integer >= 1; received `epochs=0`');
    await expect(train(model, trainData, { labelSmoothing: 1 })).rejects.toThrow('labelSmoothing must be a number in [0, 1)');
    // A misspelled option is refused, not ignored.
    await expect(train(model, trainData, { batchsize: 8 } as never)).rejects.toThrow("unknown train option 'batchsize'; did you mean 'batchSize'?");
    model.dispose();
  });
});

/** Timings differ between runs; everything else must match. */
function pick(h: { trainSeconds: number; evalSeconds: number; trainImagesPerSec: number }) {
  return { trainSeconds: h.trainSeconds, evalSeconds: h.evalSeconds, trainImagesPerSec: h.trainImagesPerSec };
}
