import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileSystem } from '../io/fileSystem.js';
import { tf } from '../tf.js';
import { classifyImages, loadClassifier } from './classifier.js';

/**
 * A 2×2 grayscale "model" whose logits are [mean pixel, −mean pixel] of the normalized input, so
 * the expected probabilities can be written down by hand.
 */
async function savedToyModel(): Promise<string> {
  const input = tf.input({ shape: [2, 2, 1] });
  const pooled = tf.layers.globalAveragePooling2d({}).apply(input) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2, name: 'predictions', kernelInitializer: 'zeros' });
  const model = tf.model({ inputs: input, outputs: dense.apply(pooled) as tf.SymbolicTensor });
  dense.setWeights([tf.tensor2d([[1, -1]]), tf.zeros([2])]);
  model.setUserDefinedMetadata({ classNames: ['bright', 'dark'], mean: [0.5], std: [0.25], inputShape: [2, 2, 1], inputSize: [2, 2] });
  const dir = await mkdtemp(path.join(tmpdir(), 'predict-'));
  await model.save(fileSystem(dir));
  return dir;
}

async function grayImage(dir: string, name: string, value: number, size = 4, channels: 1 | 3 = 1): Promise<string> {
  const file = path.join(dir, name);
  await sharp(Buffer.alloc(size * size * channels, value), { raw: { width: size, height: size, channels } }).png().toFile(file);
  return file;
}

describe('classifyImages', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('normalizes with the metadata, returns softmax top-k, and leaks nothing', async () => {
    const dir = await savedToyModel();
    const white = await grayImage(dir, 'white.png', 255, 4, 3);
    const black = await grayImage(dir, 'black.png', 0);
    const classifier = await loadClassifier(path.join(dir, 'model.json'));
    expect(classifier.classNames).toEqual(['bright', 'dark']);
    const before = tf.memory().numTensors;
    const [w, b] = await classifyImages(classifier, [white, black], { batchSize: 1 });
    // white: (1 − 0.5)/0.25 = 2 → logits [2, −2]; black: −2 → [−2, 2].
    const p = 1 / (1 + Math.exp(-4));
    expect(w.top.map((c) => c.className)).toEqual(['bright', 'dark']);
    expect(w.top[0].probability).toBeCloseTo(p, 5);
    expect(b.top[0]).toEqual({ className: 'dark', index: 1, probability: expect.closeTo(p, 5) });
    expect((await classifyImages(classifier, [white], { topK: 1 }))[0].top).toHaveLength(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names a missing or undecodable image', async () => {
    const dir = await savedToyModel();
    const classifier = await loadClassifier(dir);
    const missing = path.join(dir, 'nope.png');
    await expect(classifyImages(classifier, [missing])).rejects.toThrow(`${missing}: cannot read the image (no such file)`);
    await expect(classifyImages(classifier, [path.join(dir, 'model.json')])).rejects.toThrow(`${path.join(dir, 'model.json')}: cannot read the image`);
    await expect(classifyImages(classifier, [], { topK: 0 })).rejects.toThrow('topK must be an integer >= 1');
  });
});
