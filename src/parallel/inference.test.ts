import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomizeBatchNorm } from '../../test/randomBatchNorm.js';
import { tinyModel } from '../../test/tinyModel.js';
import type { Batch, Dataset } from '../data/dataset.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { tf } from '../tf.js';
import { evaluate } from '../training/evaluate.js';
import { InferencePool, ranksFor } from './inference.js';
import { predictBatches } from './predictBatches.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

/** Random images, the same on every call: seeds from 1, since TF.js draws a fresh seed for seed 0. */
function randomDigits(length: number): Dataset {
  const labels = Int32Array.from({ length }, (_, i) => (i * 3) % 10);
  return {
    length, classNames: Array.from({ length: 10 }, (_, i) => String(i)), inputShape: [28, 28, 1], mean: [0], std: [1],
    labels: () => labels,
    batch: async (indices): Promise<Batch> => ({
      x: tf.tidy(() => tf.stack(Array.from(indices, (i) => tf.randomNormal([28, 28, 1], 0, 1, 'float32', i + 1)))) as tf.Tensor4D,
      y: tf.tensor1d(Array.from(indices, (i) => labels[i]!), 'int32'),
    }),
  };
}

describe('ranksFor', () => {
  it('starts no worker for a few batches and at most one rank per 4 batches', () => {
    expect(ranksFor(1, 8)).toBe(1);
    expect(ranksFor(7, 2)).toBe(1);
    expect(ranksFor(8, 2)).toBe(2);
    expect(ranksFor(100, 3)).toBe(3);
  });
});

describe('predictBatches', () => {
  it('equals model.predict with workers, for RGB MobileNetV2 at 96 px, and leaks nothing', async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [96, 96, 3], numClasses: 7, seed: 3 });
    randomizeBatchNorm(model, 1);
    const images = tf.randomNormal([37, 96, 96, 3], 0, 1, 'float32', 4);
    const before = tf.memory().numTensors;
    const ours = await predictBatches(model, images, { batchSize: 4, workers: 2, engine: 'tfjs' });
    expect(tf.memory().numTensors).toBe(before + 1);
    const expected = model.predict(images, { batchSize: 4 }) as tf.Tensor;
    expect(ours.shape).toEqual([37, 7]);
    // BatchNorm folded into the convs (inferencePlan) rounds differently: relative to the logits' scale.
    const diff = tf.max(tf.abs(tf.sub(ours, expected))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-4 * tf.max(tf.abs(expected)).dataSync()[0]!);
    tf.dispose([ours, expected, images]);
    model.dispose();
  }, 60_000);

  it('runs 3 images on this thread', async () => {
    const model = tinyModel(1);
    const images = tf.randomNormal([3, 28, 28, 1]);
    const started = performance.now();
    const out = await predictBatches(model, images, { workers: 4 });
    // No worker: far below the ~1 s a worker needs to start.
    expect(performance.now() - started).toBeLessThan(500);
    expect(out.shape).toEqual([3, 10]);
    // 'auto' times the first batch: 15 more of a small model are not worth a worker.
    const many = tf.randomNormal([64, 28, 28, 1]);
    const cheap = performance.now();
    const all = await predictBatches(model, many, { batchSize: 4, workers: 'auto' });
    expect(performance.now() - cheap).toBeLessThan(500);
    expect(all.shape).toEqual([64, 10]);
    tf.dispose([out, images, many, all]);
    model.dispose();
  });
});

describe('InferencePool', () => {
  it("runs each worker's folded plan from the weights it received, and every worker frees what it built", async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 5, seed: 4, invertedResidualSetting: [[1, 16, 1, 1], [6, 24, 2, 2]] });
    randomizeBatchNorm(model, 2);
    const batches = [0, 1, 2].map((i) => tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', i));
    const pool = await InferencePool.start(model, 3);
    // Each worker folded every BatchNorm of this model into its conv.
    const batchNorms = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length;
    expect(pool.fusedConvs).toEqual([batchNorms, batchNorms]);
    const before = tf.memory().numTensors;
    for (let round = 0; round < 2; round++) {
      // Two workers, and each holds several batches at once.
      const outputs = await Promise.all(batches.map((x, i) => pool.runOn(i % 2, x)));
      for (const [i, out] of outputs.entries()) {
        const expected = model.predict(batches[i]!) as tf.Tensor;
        const [diff, scale] = tf.tidy(() => [tf.max(tf.abs(tf.sub(out, expected))).dataSync()[0]!, tf.max(tf.abs(expected)).dataSync()[0]!]);
        expect(diff).toBeLessThan(1e-4 * scale);
        tf.dispose([out, expected]);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(await pool.close()).toEqual(pool.baseTensors);
    tf.dispose(batches);
    model.dispose();
  }, 60_000);
});

describe('evaluate with workers', () => {
  it('gives the single-thread loss, accuracy and confusion matrix', async () => {
    const model = tinyModel(2);
    const data = randomDigits(300);
    const before = tf.memory().numTensors;
    const one = await evaluate(model, data, { batchSize: 32, confusion: true });
    const two = await evaluate(model, data, { batchSize: 32, confusion: true, workers: 2 });
    expect(two.count).toBe(300);
    // Worker and main thread run the same inference plan and kernels.
    expect(Math.abs(two.loss - one.loss)).toBeLessThan(1e-4 * one.loss);
    expect(two.accuracy).toBe(one.accuracy);
    expect(two.confusion).toEqual(one.confusion);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  }, 60_000);
});
