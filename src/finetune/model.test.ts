import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../data/dataset.js';
import { fileSystem } from '../io/fileSystem.js';
import { loadCheckpoint } from '../training/checkpoint.js';
import { mobileNetV2Mnist } from '../models/mnist.js';
import { tf } from '../tf.js';
import { fineTune } from './finetune.js';
import { copyWeightsByName, freezeFeatures, HEAD_LAYER, rebuildWithHead, splitAtHead } from './model.js';

const tiny = (numClasses: number, seed: number) => mobileNetV2Mnist({ alpha: 0.25, inputShape: [16, 16, 1], numClasses, seed });

function snapshot(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

/** A deterministic in-memory dataset of random 16×16 images whose label is the brighter half. */
function syntheticData(n: number, classes = 3): Dataset {
  const images = tf.tidy(() => tf.randomUniform([n, 16, 16, 1], -1, 1, 'float32', 7).arraySync() as number[][][][]);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  return {
    length: n, classNames: Array.from({ length: classes }, (_, i) => `c${i}`), inputShape: [16, 16, 1], mean: [0.5], std: [0.5],
    labels: () => labels.slice(),
    async batch(indices) {
      const idx = Array.from(indices);
      return tf.tidy(() => ({
        x: tf.tensor4d(idx.map((i) => images[i].map((row) => row.map((p) => [p[0] + labels[i]])))),
        y: tf.tensor1d(idx.map((i) => labels[i]), 'int32'),
      }));
    },
  };
}

describe('head swap', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('copies every layer but a resized classifier, which is freshly initialized', async () => {
    const source = tiny(10, 1);
    const before = snapshot(source);
    const { model, transfer } = await rebuildWithHead(source, { numClasses: 3, seed: 5 });
    expect(transfer.replaced).toEqual([HEAD_LAYER]);
    expect(transfer.missing).toEqual([]);
    expect(transfer.loaded.length).toBe(source.layers.filter((l) => l.weights.length).length - 1);
    for (const w of model.weights) {
      if (w.originalName.startsWith(`${HEAD_LAYER}/`)) continue;
      expect(w.read().dataSync()).toEqual(before.get(w.originalName));
    }
    const [kernel, bias] = model.getLayer(HEAD_LAYER).getWeights();
    expect(kernel.shape).toEqual([source.getLayer(HEAD_LAYER).getWeights()[0].shape[0], 3]);
    expect(Array.from(bias.dataSync())).toEqual([0, 0, 0]);
    const values = Array.from(kernel.dataSync());
    const std = Math.sqrt(values.reduce((a, v) => a + v * v, 0) / values.length);
    expect(std).toBeGreaterThan(0.005);
    expect(std).toBeLessThan(0.02);
    // The source is untouched and may be disposed without breaking the copy.
    expect(snapshot(source)).toEqual(before);
    source.dispose();
    const out = model.predict(tf.ones([1, 16, 16, 1])) as tf.Tensor;
    expect(out.shape).toEqual([1, 3]);
    tf.dispose(out);
    model.dispose();
  });

  it('keeps a head of the same shape unless asked, and resizes the input', async () => {
    const source = tiny(4, 2);
    const kept = await rebuildWithHead(source, { inputSize: [32, 32] });
    expect(kept.transfer.replaced).toEqual([]);
    expect(kept.model.inputs[0].shape).toEqual([null, 32, 32, 1]);
    expect(kept.model.getLayer(HEAD_LAYER).getWeights()[0].dataSync()).toEqual(source.getLayer(HEAD_LAYER).getWeights()[0].dataSync());
    const fresh = await rebuildWithHead(source, { freshHead: true });
    expect(fresh.transfer.replaced).toEqual([HEAD_LAYER]);
    tf.dispose([source, kept.model, fresh.model] as unknown as tf.Tensor[]);
  });

  it('copyWeightsByName reports layers the source lacks', () => {
    const a = tiny(3, 1);
    const input = tf.input({ shape: [2] });
    const other = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3, name: HEAD_LAYER }).apply(input) as tf.SymbolicTensor });
    const report = copyWeightsByName(other, a);
    expect(report.replaced).toEqual([HEAD_LAYER]);
    expect(report.missing).toContain('Conv1');
  });

  it('splitAtHead composes back to the model, and the model still saves as plain TF.js', async () => {
    const model = tiny(3, 3);
    const { features, head } = splitAtHead(model);
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 1);
    const whole = model.predict(x) as tf.Tensor;
    const pooled = features.predict(x) as tf.Tensor2D;
    const parts = head.predict(pooled.reshape([2, 1, 1, -1])) as tf.Tensor;
    expect(Array.from(parts.dataSync())).toEqual(Array.from(whole.dataSync()).map((v) => expect.closeTo(v, 5)));
    const dir = await mkdtemp(path.join(tmpdir(), 'split-'));
    await model.save(fileSystem(dir));
    const loaded = await tf.loadLayersModel(fileSystem(dir));
    expect(loaded.layers.length).toBe(model.layers.length);
    tf.dispose([x, whole, pooled, parts]);
  });
});

describe.each(['wasm', 'cpu'])('freezing (%s)', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('freezeFeatures leaves only the classifier trainable', () => {
    const model = tiny(3, 1);
    freezeFeatures(model);
    expect(model.trainableWeights.map((w) => w.originalName)).toEqual([`${HEAD_LAYER}/kernel`, `${HEAD_LAYER}/bias`]);
    freezeFeatures(model, false);
    expect(model.trainableWeights.length).toBeGreaterThan(2);
  });

  it('stock TF.js: a BatchNormalization with trainable=false still updates its moving statistics in training mode', () => {
    // Keras 2 would run it in inference mode; TF.js does not, which is why the trainer forces it.
    const bn = tf.layers.batchNormalization({ momentum: 0.5 });
    bn.apply(tf.input({ shape: [2] }));
    bn.trainable = false;
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    tf.tidy(() => bn.apply(x, { training: true }) as tf.Tensor);
    expect(Array.from(bn.getWeights()[2].dataSync())).toEqual([1, 1.5]);
    x.dispose();
  });

  it('frozen features keep their weights and BN moving statistics, recalibration asked for or not; the head learns; no tensors leak', async () => {
    const model = tiny(3, 4);
    const data = syntheticData(24);
    const before = snapshot(model);
    const tensors = tf.memory().numTensors;
    const result = await fineTune(model, data, { freezeFeatures: true, epochs: 2, batchSize: 8, seed: 1, learningRate: 0.01, recalibrateBatchNorm: true });
    expect(result.stages.map((s) => s.trains)).toEqual(['head']);
    const after = snapshot(model);
    const movingStats = [...before.keys()].filter((k) => k.includes('moving_'));
    expect(movingStats.length).toBeGreaterThan(10);
    for (const [name, value] of before) {
      if (name.startsWith(`${HEAD_LAYER}/`)) expect(after.get(name)).not.toEqual(value);
      else expect(after.get(name)).toEqual(value);
    }
    // Unfrozen again afterwards, so the caller's model is not left half-trainable.
    expect(model.trainableWeights.length).toBeGreaterThan(2);
    await fineTune(model, data, { freezeFeatures: true, epochs: 1, batchSize: 8, seed: 1 });
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('unfreezeAfter trains the head first, then every layer at the lower rate, continuing the epoch count', async () => {
    const model = tiny(3, 5);
    const data = syntheticData(16);
    const before = snapshot(model);
    const tensors = tf.memory().numTensors;
    const result = await fineTune(model, data, { unfreezeAfter: 1, epochs: 2, batchSize: 8, seed: 2, validationData: data, learningRate: 0.01 });
    expect(result.stages.map((s) => [s.trains, s.firstEpoch, s.lastEpoch, s.learningRate])).toEqual([['head', 1, 1, 0.01], ['all', 2, 2, 0.001]]);
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(result.confusion!.flat().reduce((a, b) => a + b, 0)).toBe(16);
    const after = snapshot(model);
    expect(after.get('Conv1/kernel')).not.toEqual(before.get('Conv1/kernel'));
    expect(after.get('bn_Conv1/moving_mean')).not.toEqual(before.get('bn_Conv1/moving_mean'));
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('stops on an AbortSignal and resumes from its checkpoint in the stage where it stopped, leaking no tensors', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'finetune-resume-'));
    const data = syntheticData(16);
    const tensors = tf.memory().numTensors;
    const model = tiny(3, 6);
    const stop = new AbortController();
    const options = { unfreezeAfter: 1, epochs: 3, batchSize: 8, seed: 3, validationData: data, out };
    const stopAfterEpoch2 = { onEpochEnd: (m: { epoch: number }) => void (m.epoch === 2 && stop.abort(new Error('stopped'))) };
    await expect(fineTune(model, data, { ...options, signal: stop.signal, callbacks: stopAfterEpoch2 })).rejects.toThrow('stopped');
    model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);

    const checkpoint = await loadCheckpoint(out);
    expect(checkpoint.state.epoch).toBe(2);
    const result = await fineTune(checkpoint.model, data, { ...options, resume: checkpoint });
    expect(result.stages.map((s) => [s.trains, s.firstEpoch, s.lastEpoch])).toEqual([['all', 2, 3]]);
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    checkpoint.model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    // A checkpoint of another plan is refused, its tensors released.
    const again = await loadCheckpoint(out);
    await expect(fineTune(again.model, data, { ...options, unfreezeAfter: undefined, resume: again })).rejects.toThrow('not a checkpoint of this fine-tuning plan (1 stage)');
    again.model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('rejects bad stage options with one line naming the option', async () => {
    const model = tiny(3, 1);
    const data = syntheticData(4);
    await expect(fineTune(model, data, { epochs: 2, unfreezeAfter: 2 })).rejects.toThrow('unfreezeAfter must be < epochs (2)');
    await expect(fineTune(model, data, { learningRate: -1 })).rejects.toThrow('learningRate must be a finite number > 0; received `learningRate=-1`');
    await expect(fineTune(model, data, { patience: 0 })).rejects.toThrow('patience must be an integer >= 1');
  });
});
