import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { relativeDiff } from '../../test/onnx.js';
import { randomizeBatchNorm } from '../../test/randomBatchNorm.js';
import { tinyModel } from '../../test/tinyModel.js';
import type { Batch, Dataset } from '../data/dataset.js';
import { fileSystem } from '../io/fileSystem.js';
import type { Logger } from '../logger.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import type { MobileNetV2Options } from '../models/options.js';
import { predictBatches } from '../parallel/predictBatches.js';
import { classifyImages, embedImages, loadClassifier } from '../predict/classifier.js';
import { embed } from '../predict/embed.js';
import { tf } from '../tf.js';
import { evaluate } from '../training/evaluate.js';
import { chooseEngine } from './engine.js';
import { loadOnnxruntime } from './onnxruntime.js';

const recording = (): Logger & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, info: (m) => void lines.push(m), warn: (m) => void lines.push(`warning: ${m}`) };
};

/** Stock TF.js (cpu kernels, unfolded layers): the reference. */
async function stock(model: tf.LayersModel, x: tf.Tensor): Promise<Float32Array> {
  const backend = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    // apply, not predict: an image model takes other sizes too.
    return tf.tidy(() => (model.apply(x, { training: false }) as tf.Tensor).dataSync() as Float32Array);
  } finally {
    await tf.setBackend(backend);
  }
}

let createSpy: ReturnType<typeof vi.spyOn>;
beforeAll(async () => {
  await tf.setBackend('wasm');
  const ort = await loadOnnxruntime();
  if (typeof ort === 'string') throw new Error(ort);
  createSpy = vi.spyOn(ort.InferenceSession, 'create');
});

describe("predictBatches on onnxruntime equals TF.js's outputs", () => {
  const cases: [string, MobileNetV2Options, number[]][] = [
    ['α 0.35, 96 px, classifier', { alpha: 0.35, inputShape: [96, 96, 3], numClasses: 7 }, [5, 96, 96, 3]],
    ['α 0.5, 160×128, avg pooling', { alpha: 0.5, inputShape: [160, 128, 3], includeTop: false, pooling: 'avg' }, [3, 160, 128, 3]],
    ['α 1, 224 px, 1,000 classes', { alpha: 1, numClasses: 1000 }, [2, 224, 224, 3]],
    ['α 0.75, 64×48 gray, softmax', { alpha: 0.75, inputShape: [64, 48, 1], numClasses: 4, classifierActivation: 'softmax' }, [3, 64, 48, 1]],
    ['α 1, 96×64, feature map', { alpha: 1, inputShape: [96, 64, 3], includeTop: false }, [3, 96, 64, 3]],
    ['α 0.35, 64 px, max pooling, at another size', { alpha: 0.35, inputShape: [64, 64, 3], includeTop: false, pooling: 'max' }, [2, 80, 72, 3]],
  ];
  it.each(cases)('%s', async (_, options, shape) => {
    const model = mobileNetV2({ ...options, seed: 3 });
    randomizeBatchNorm(model, 2);
    const x = tf.randomNormal(shape, 0, 1, 'float32', 4);
    const logger = recording();
    const ours = await predictBatches(model, x, { engine: 'onnxruntime', batchSize: 2, logger });
    expect(logger.lines).toEqual([expect.stringMatching(/^inference engine: onnxruntime \(onnxruntime-node 1\.30\.0, \d+ threads?\)$/)]);
    const expected = await stock(model, x);
    expect(ours.shape).toEqual([shape[0], ...tf.tidy(() => (model.apply(x.slice(0, 1)) as tf.Tensor).shape.slice(1))]);
    expect(relativeDiff(ours.dataSync(), expected)).toBeLessThan(1e-4);
    tf.dispose([ours, x]);
    model.dispose();
  }, 120_000);
});

describe("engine 'auto'", () => {
  it('runs a MobileNetV2 on onnxruntime and any other model on tfjs, and says which and why', async () => {
    const ours = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 3, seed: 1 });
    const other = tinyModel(1);
    const logger = recording();
    expect((await chooseEngine(ours, { logger })).engine).toBe('onnxruntime');
    expect((await chooseEngine(other, { engine: 'auto', logger })).engine).toBe('tfjs');
    expect((await chooseEngine(ours, { engine: 'tfjs', logger })).engine).toBe('tfjs');
    expect(logger.lines).toEqual([
      expect.stringMatching(/^inference engine: onnxruntime \(onnxruntime-node 1\.30\.0, \d+ threads?\)$/),
      `inference engine: tfjs (wasm); not onnxruntime: model '${other.name}' is not a MobileNetV2 of this library`,
      'inference engine: tfjs (wasm)',
    ]);
    const x = tf.randomNormal([3, 28, 28, 1]);
    const out = await predictBatches(other, x);
    expect(out.shape).toEqual([3, 10]);
    tf.dispose([x, out]);
    ours.dispose();
    other.dispose();
  });

  it("'onnxruntime' refuses a model it cannot run, and bad options, in one line", async () => {
    const other = tinyModel(2);
    const x = tf.zeros([1, 28, 28, 1]);
    await expect(predictBatches(other, x, { engine: 'onnxruntime' })).rejects.toThrow(/^engine 'onnxruntime' supports MobileNetV2 models built by this library .* is not one: /);
    await expect(predictBatches(other, x, { engine: 'ort' as never })).rejects.toThrow("engine must be one of 'tfjs', 'onnxruntime', 'auto'; received `engine=\"ort\"`");
    await expect(predictBatches(other, x, { threads: 0 })).rejects.toThrow('threads must be an integer >= 1; received `threads=0`');
    await expect(predictBatches(other, x, { thread: 2 } as never)).rejects.toThrow("unknown predictBatches option 'thread'");
    tf.dispose(x);
    other.dispose();
  });
});

describe('the onnxruntime session', () => {
  it('is created once per model, again when its weights or threads change, and tensors stay flat', async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [48, 48, 3], numClasses: 4, seed: 5 });
    randomizeBatchNorm(model, 5);
    const x = tf.randomNormal([6, 48, 48, 3], 0, 1, 'float32', 6);
    createSpy.mockClear();
    const first = await predictBatches(model, x, { engine: 'onnxruntime', batchSize: 4 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) (await predictBatches(model, x, { engine: 'onnxruntime', batchSize: 4 })).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(createSpy).toHaveBeenCalledTimes(1);

    // New weights (as training or setWeights leave them): a fresh export, and their outputs.
    randomizeBatchNorm(model, 99);
    const second = await predictBatches(model, x, { engine: 'onnxruntime', batchSize: 4 });
    expect(createSpy).toHaveBeenCalledTimes(2);
    expect(relativeDiff(second.dataSync(), await stock(model, x))).toBeLessThan(1e-4);
    expect(relativeDiff(second.dataSync(), first.dataSync())).toBeGreaterThan(1e-2);

    (await predictBatches(model, x, { engine: 'onnxruntime', threads: 1 })).dispose();
    expect(createSpy).toHaveBeenCalledTimes(3);
    expect((createSpy.mock.calls[2]![1] as { intraOpNumThreads: number }).intraOpNumThreads).toBe(1);
    expect((createSpy.mock.calls[0]![1] as { intraOpNumThreads: number }).intraOpNumThreads).toBe((await import('node:os')).availableParallelism());
    tf.dispose([x, first, second]);
    model.dispose();
  });
});

/** Random digit-sized images with fixed labels. */
function randomImages(length: number, shape: [number, number, number]): Dataset {
  const labels = Int32Array.from({ length }, (_, i) => i % 3);
  return {
    length, classNames: ['a', 'b', 'c'], inputShape: shape, mean: [0], std: [1],
    labels: () => labels,
    batch: async (indices): Promise<Batch> => ({
      x: tf.tidy(() => tf.stack(Array.from(indices, (i) => tf.randomNormal(shape, 0, 1, 'float32', i + 1)))) as tf.Tensor4D,
      y: tf.tensor1d(Array.from(indices, (i) => labels[i]!), 'int32'),
    }),
  };
}

describe('evaluate on onnxruntime', () => {
  it("gives tfjs's loss, accuracy and confusion matrix, reports the engine, and leaks nothing", async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [40, 40, 3], numClasses: 3, seed: 7 });
    randomizeBatchNorm(model, 7);
    const data = randomImages(70, [40, 40, 3]);
    const tfjs = await evaluate(model, data, { batchSize: 16, confusion: true, engine: 'tfjs' });
    const before = tf.memory().numTensors;
    const ort = await evaluate(model, data, { batchSize: 16, confusion: true, engine: 'onnxruntime', threads: 2 });
    const again = await evaluate(model, data, { batchSize: 16, confusion: true });
    expect(tf.memory().numTensors).toBe(before);
    expect([tfjs.engine, ort.engine, again.engine]).toEqual(['tfjs', 'onnxruntime', 'onnxruntime']);
    expect(Math.abs(ort.loss - tfjs.loss)).toBeLessThan(1e-4 * tfjs.loss);
    expect(ort.confusion).toEqual(tfjs.confusion);
    expect(ort.accuracy).toBe(tfjs.accuracy);
    model.dispose();
  });
});

describe('a classifier on onnxruntime', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'engine-classifier-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates its session at load; classifyImages and embedImages equal tfjs and leak nothing', async () => {
    const model = mobileNetV2({ alpha: 0.5, inputShape: [56, 56, 3], numClasses: 3, seed: 8 });
    randomizeBatchNorm(model, 8);
    model.setUserDefinedMetadata({ classNames: ['r', 'g', 'b'], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], inputShape: [56, 56, 3] });
    const saved = path.join(dir, 'model');
    await model.save(fileSystem(saved));
    const images = await Promise.all([0, 1, 2, 3, 4].map(async (i) => {
      const file = path.join(dir, `${i}.png`);
      const pixels = Buffer.from(Array.from({ length: 60 * 50 * 3 }, (_, j) => (j * (i + 7) * 31) % 256));
      await sharp(pixels, { raw: { width: 60, height: 50, channels: 3 } }).png().toFile(file);
      return file;
    }));
    createSpy.mockClear();
    const fast = await loadClassifier(saved, { engine: 'onnxruntime', threads: 2 });
    expect(createSpy).toHaveBeenCalledTimes(1);
    const slow = await loadClassifier(saved, { engine: 'tfjs' });
    const before = tf.memory().numTensors;
    const logger = recording();
    const a = await classifyImages(fast, images, { batchSize: 2, logger });
    const b = await classifyImages(slow, images, { batchSize: 2 });
    expect(logger.lines).toEqual(['inference engine: onnxruntime (onnxruntime-node 1.30.0, 2 threads)']);
    a.forEach((p, i) => {
      expect(p.top.map((c) => c.index)).toEqual(b[i]!.top.map((c) => c.index));
      p.top.forEach((c, j) => expect(Math.abs(c.probability - b[i]!.top[j]!.probability)).toBeLessThan(1e-5));
    });
    const fe = await embedImages(fast, images, { batchSize: 3 });
    const se = await embedImages(slow, images, { batchSize: 3 });
    expect(fe.dim).toBe(1280);
    expect(relativeDiff(fe.features, se.features)).toBeLessThan(1e-4);
    expect(createSpy).toHaveBeenCalledTimes(1);
    expect(tf.memory().numTensors).toBe(before);
    await expect(loadClassifier(saved, { engine: 'onnx' as never })).rejects.toThrow('engine must be one of');
    for (const m of [fast.model, slow.model, model]) m.dispose();
  });

  it.each([
    ['a feature map', { includeTop: false }],
    ['max pooling', { includeTop: false, pooling: 'max' }],
    ['a classifier', { numClasses: 3 }],
  ] as const)("the session's pooled output of %s is embed()'s", async (_, options) => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [48, 48, 3], seed: 9, ...options });
    randomizeBatchNorm(model, 9);
    const { session } = await chooseEngine(model, { engine: 'onnxruntime' });
    const x = tf.randomNormal([2, 48, 48, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const pooled = await session!.run(x, 'pooled');
    const expected = embed(model, x);
    expect(pooled.shape).toEqual(expected.shape);
    expect(relativeDiff(pooled.dataSync(), expected.dataSync())).toBeLessThan(1e-4);
    tf.dispose([x, pooled, expected]);
    model.dispose();
  });
});
