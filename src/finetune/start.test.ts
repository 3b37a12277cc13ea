import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileSystem } from '../io/fileSystem.js';
import { mobileNetV2Mnist } from '../models/mnist.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { tf } from '../tf.js';
import { saveTorchWeights } from '../weights/saveTorchWeights.js';
import { HEAD_LAYER } from './model.js';
import { IMAGENET_MEAN, loadStartingPoint } from './start.js';

const digits = '0123456789'.split('');
const weightsOf = (model: tf.LayersModel, layer: string) => model.getLayer(layer).getWeights().map((w) => Array.from(w.dataSync()));

async function savedCheckpoint(metadata: Record<string, unknown> | null): Promise<{ dir: string; source: tf.LayersModel }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'start-'));
  const source = mobileNetV2Mnist({ alpha: 0.25, seed: 3 });
  if (metadata) source.setUserDefinedMetadata(metadata);
  await source.save(fileSystem(dir));
  return { dir, source };
}

describe('loadStartingPoint', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('random initialization follows arch, channels and size', async () => {
    const start = await loadStartingPoint({ classNames: ['a', 'b'], arch: 'mnist', seed: 1 });
    expect(start.source).toBe('scratch');
    expect(start.inputShape).toEqual([28, 28, 1]);
    expect(start.mean).toEqual([0.1307]);
    expect((start.model.outputs[0].shape as number[])[1]).toBe(2);
    const rgb = await loadStartingPoint({ classNames: ['a', 'b', 'c'], alpha: 0.35, inputSize: [32, 32] });
    expect(rgb.inputShape).toEqual([32, 32, 3]);
    expect(rgb.mean).toEqual([...IMAGENET_MEAN]);
    tf.dispose([start.model, rgb.model] as unknown as tf.Tensor[]);
  });

  it('a checkpoint with another class count: features loaded, head replaced, metadata read', async () => {
    const { dir, source } = await savedCheckpoint({ classNames: digits, mean: [0.2], std: [0.4], inputShape: [28, 28, 1], inputSize: [28, 28] });
    const start = await loadStartingPoint({ weights: dir, classNames: ['x', 'y', 'z'], seed: 9 });
    expect(start.source).toBe('checkpoint');
    expect(start.transfer.replaced).toEqual([HEAD_LAYER]);
    expect(start.transfer.loaded).toContain('Conv1');
    expect(start.sourceClassNames).toEqual(digits);
    expect([start.inputShape, start.mean, start.std]).toEqual([[28, 28, 1], [0.2], [0.4]]);
    expect(weightsOf(start.model, 'block_3_depthwise')).toEqual(weightsOf(source, 'block_3_depthwise'));
    expect(weightsOf(start.model, 'bn_Conv1')).toEqual(weightsOf(source, 'bn_Conv1'));
    expect(start.describe()).toMatch(/\(checkpoint\): loaded \d+ layers, replaced predictions/);
    // model.json inside the directory works too, and the same classes keep the trained head.
    const same = await loadStartingPoint({ weights: path.join(dir, 'model.json'), classNames: digits, inputSize: [32, 32] });
    expect(same.transfer.replaced).toEqual([]);
    expect(same.inputShape).toEqual([32, 32, 1]);
    expect(weightsOf(same.model, HEAD_LAYER)).toEqual(weightsOf(source, HEAD_LAYER));
    // Same count but other names: a head trained on other labels is replaced.
    const renamed = await loadStartingPoint({ weights: dir, classNames: digits.map((d) => `n${d}`) });
    expect(renamed.transfer.replaced).toEqual([HEAD_LAYER]);
  });

  it('a checkpoint without metadata falls back to defaults with a warning', async () => {
    const { dir } = await savedCheckpoint(null);
    const warnings: string[] = [];
    const start = await loadStartingPoint({ weights: dir, classNames: ['a', 'b'], logger: { info() {}, warn: (m) => warnings.push(m) } });
    expect(start.mean).toEqual([0.1307]);
    expect(warnings[0]).toContain('no userDefinedMetadata');
  });

  it('a torchvision safetensors state_dict: width and table measured, classifier replaced', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'start-st-'));
    const file = path.join(dir, 'mobilenet_v2.safetensors');
    const source = mobileNetV2({ alpha: 0.5, numClasses: 1000, inputShape: [32, 32, 3], seed: 4 });
    await saveTorchWeights(source, file);
    const start = await loadStartingPoint({ weights: file, classNames: ['cat', 'dog'], inputSize: [64, 64] });
    expect(start.source).toBe('safetensors');
    expect(start.inputShape).toEqual([64, 64, 3]);
    expect(start.transfer.replaced).toEqual(['classifier.1.weight', 'classifier.1.bias']);
    expect(start.transfer.loaded).toContain('features.0.0.weight');
    expect(start.model.countParams()).toBe(source.countParams() - 1000 * 1281 + 2 * 1281);
    expect(weightsOf(start.model, 'block_16_project')).toEqual(weightsOf(source, 'block_16_project'));
    expect(start.mean).toEqual([...IMAGENET_MEAN]);
  });

  it("a local copy of torchvision's ImageNet file, by its file name, keeps its eval transform (resize, then center crop)", async () => {
    // What `--weights path/to/mobilenet_v2-7ebf99e0.pth` gets: the same framing as `--weights imagenet`.
    const dir = await mkdtemp(path.join(tmpdir(), 'start-hub-'));
    const file = path.join(dir, 'mobilenet_v2-7ebf99e0.pth');
    const source = mobileNetV2({ alpha: 0.35, numClasses: 1000, inputShape: [32, 32, 3], seed: 5 });
    await saveTorchWeights(source, file);
    const start = await loadStartingPoint({ weights: file, classNames: ['cat', 'dog'], inputSize: [96, 96] });
    expect(start.resize).toBe(99);
    const renamed = path.join(dir, 'mine.pth');
    await saveTorchWeights(source, renamed);
    expect((await loadStartingPoint({ weights: renamed, classNames: ['cat', 'dog'], inputSize: [96, 96] })).resize).toBeUndefined();
  });

  it('names the culprit when the weights cannot be used', async () => {
    const missing = path.join(tmpdir(), 'no-such-weights.safetensors');
    await expect(loadStartingPoint({ weights: missing, classNames: ['a', 'b'] })).rejects.toThrow(`${missing}: cannot read the weights`);
    const junk = path.join(await mkdtemp(path.join(tmpdir(), 'start-junk-')), 'junk.safetensors');
    await writeFile(junk, 'not safetensors at all');
    await expect(loadStartingPoint({ weights: junk, classNames: ['a', 'b'] })).rejects.toThrow(junk);
    await expect(loadStartingPoint({ classNames: ['a', 'b'], arch: 'resnet' as 'mnist' })).rejects.toThrow("arch must be 'imagenet' or 'mnist'");
  });
});
