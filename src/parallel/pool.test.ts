import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModel } from '../../test/tinyModel.js';
import type { Batch, Dataset } from '../data/dataset.js';
import { tf } from '../tf.js';
import { loadCheckpoint } from '../training/checkpoint.js';
import { createOptimizer } from '../training/optimizer.js';
import { trainingStep } from '../training/step.js';
import { NonFiniteLossError, train } from '../training/trainer.js';
import { ReplicaPool, WorkerError } from './pool.js';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pool-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
  await tf.setBackend('cpu');
});

/** Random 28×28 images whose class is the brightest quadrant, so a model can learn it. */
function quadrants(length: number, seed: number, poison: number[] = []): Dataset {
  const labels = Int32Array.from({ length }, (_, i) => (i * 7 + seed) % 4);
  return {
    length, classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], inputShape: [28, 28, 1], mean: [0], std: [1],
    labels: () => labels,
    batch: async (indices): Promise<Batch> => tf.tidy(() => {
      const rows = Array.from(indices, (i) => {
        const q = labels[i]!;
        const base = tf.randomUniform([28, 28, 1], 0, 1, 'float32', seed * 1000 + i);
        const mask = tf.buffer([28, 28, 1]);
        for (let h = 0; h < 14; h++) for (let w = 0; w < 14; w++) mask.set(1, h + 14 * (q >> 1), w + 14 * (q & 1), 0);
        const image = base.add(mask.toTensor());
        return poison.includes(i) ? image.mul(NaN) : image;
      });
      return { x: tf.stack(rows) as tf.Tensor4D, y: tf.tensor1d(Array.from(indices, (i) => labels[i]!), 'int32') };
    }),
  };
}

const frozenBatchNorm = (model: tf.LayersModel) => {
  for (const layer of model.layers) if (layer.getClassName() === 'BatchNormalization') layer.trainable = false;
  return model;
};

describe('ReplicaPool', () => {
  it('takes the same step as one thread on the whole batch, keeps replicas bit-identical and leaks nothing', async () => {
    // Frozen BatchNorm uses its moving statistics, so the step does not depend on the split.
    const single = frozenBatchNorm(tinyModel(5));
    const parallel = frozenBatchNorm(tinyModel(5));
    const data = quadrants(24, 1);
    const optimizer1 = createOptimizer('adam');
    const optimizer2 = createOptimizer('adam');
    const pool = await ReplicaPool.start(parallel, optimizer2, { ranks: 3, optimizer: 'adam', labelSmoothing: 0, freezeBatchNormStats: true });
    const tensors: number[][] = [];
    try {
      for (let s = 0; s < 3; s++) {
        // 8 rows over 3 ranks: shards of 2, 3 and 3.
        const batch = await data.batch(Int32Array.from({ length: 8 }, (_, i) => s * 8 + i), { augment: false, random: Math.random });
        const step = trainingStep(single, batch.x, batch.y);
        const loss1 = step.loss.dataSync()[0]!;
        optimizer1.applyGradients(step.grads);
        step.dispose();
        const result = await pool.forwardBackward(batch, `step ${s + 1}`);
        pool.apply(1e-3);
        expect(result.loss).toBeCloseTo(loss1, 5);
        tensors.push([...result.workerTensors, ...result.workerBytes]);
        tf.dispose([batch.x, batch.y]);
      }
      const mine = parallel.weights.map((w) => w.read().dataSync() as Float32Array);
      single.weights.forEach((w, i) => {
        const expected = w.read().dataSync() as Float32Array;
        const worst = expected.reduce((m, v, j) => Math.max(m, Math.abs(v - mine[i]![j]!)), 0);
        expect(worst, w.name).toBeLessThan(1e-5);
      });
      for (const rank of [1, 2]) {
        const theirs = await pool.weightsOf(rank);
        theirs.forEach((values, i) => expect(Buffer.from(values.buffer).equals(Buffer.from(mine[i]!.buffer)), `rank ${rank} weight ${i}`).toBe(true));
      }
      expect(tensors[2]).toEqual(tensors[1]);
    } finally {
      const left = await pool.close();
      expect(left).toEqual(pool.baseTensors);
    }
    optimizer1.dispose();
    optimizer2.dispose();
    single.dispose();
    parallel.dispose();
  }, 60_000);

  // On cpu: wasm's ReLU6 turns NaN into 0, so a NaN batch would not reach the loss there.
  it('applies nothing anywhere when the loss is not finite (cpu)', async () => {
    await tf.setBackend('cpu');
    const model = tinyModel(6);
    const optimizer = createOptimizer('adam');
    const pool = await ReplicaPool.start(model, optimizer, { ranks: 2, optimizer: 'adam', labelSmoothing: 0, freezeBatchNormStats: true });
    const trainables = () => model.trainableWeights.map((w) => Array.from(w.read().dataSync()));
    try {
      const before = trainables();
      const batch = await quadrants(8, 2, [0, 1, 2, 3, 4, 5, 6, 7]).batch(Int32Array.from({ length: 8 }, (_, i) => i), { augment: false, random: Math.random });
      const result = await pool.forwardBackward(batch, 'step 1');
      expect(Number.isFinite(result.loss)).toBe(false);
      tf.dispose([batch.x, batch.y]);
      expect(trainables()).toEqual(before);
      const theirs = await pool.weightsOf(1);
      const trainableIndex = model.weights.map((w) => w.trainable);
      expect(theirs.filter((_, i) => trainableIndex[i]).map((v) => Array.from(v))).toEqual(before);
    } finally {
      await pool.close();
      optimizer.dispose();
      model.dispose();
      await tf.setBackend('wasm');
    }
  }, 60_000);
});

describe('train with workers', () => {
  it('trains, resumes with another worker count, and stops every replica on a NaN loss', async () => {
    const out = path.join(tmp, 'run');
    const model = tinyModel(7);
    const data = quadrants(96, 3);
    const first = await train(model, data, { epochs: 1, batchSize: 16, learningRate: 1e-2, seed: 1, workers: 2, out, plots: false });
    expect(first.history).toHaveLength(1);
    const checkpoint = await loadCheckpoint(out);
    const second = await train(checkpoint.model, data, { epochs: 2, resume: checkpoint, workers: 3, out, plots: false });
    expect(second.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(second.history[1]!.trainLoss).toBeLessThan(first.history[0]!.trainLoss);
    checkpoint.model.dispose();
    model.dispose();

    await tf.setBackend('cpu');
    const nan = tinyModel(8);
    const error = await train(nan, quadrants(48, 4, [16, 17, 18, 19, 20, 21, 22, 23]), { epochs: 1, batchSize: 8, shuffle: false, workers: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as Error).message).toMatch(/at epoch 1, step 3/);
    nan.dispose();
    await tf.setBackend('wasm');
  }, 120_000);

  it('ends with one line naming the worker when one dies mid-epoch, without hanging', async () => {
    process.env.MOBILENETV2_TEST_EXIT_AT_STEP = '3';
    const model = tinyModel(9);
    const before = tf.memory().numTensors;
    try {
      const started = Date.now();
      const error = await train(model, quadrants(96, 5), { epochs: 2, batchSize: 16, workers: 2 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkerError);
      expect((error as Error).message).toBe('worker 1 of 1 exited unexpectedly (exit code 3) at epoch 1, step 3');
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      delete process.env.MOBILENETV2_TEST_EXIT_AT_STEP;
      model.dispose();
    }
  }, 60_000);
});
