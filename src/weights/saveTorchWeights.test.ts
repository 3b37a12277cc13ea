import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { architectureOf } from '../models/architectureOf.js';
import { mobileNetV2Mnist } from '../models/mnist.js';
import { tf } from '../tf.js';
import { buildFixtureModel, fixturePath, fixtures, readIO } from '../../test/fixtures/fixtures.js';
import { loadTorchWeights } from './loadTorchWeights.js';
import { decodeFloat32, parseSafetensors } from './safetensors.js';
import { saveTorchWeights } from './saveTorchWeights.js';

const fixture = fixtures.find((f) => f.name === 'tv_a0.35_67x45')!;

describe('saveTorchWeights', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('writes PyTorch state_dict keys, order, shapes and values; loading it back reproduces the predictions', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'save-'));
    const file = path.join(dir, 'weights.safetensors');
    const original = buildFixtureModel(fixture);
    await loadTorchWeights(original, fixturePath(fixture.weights));
    const before = tf.memory().numTensors;
    await saveTorchWeights(original, file);
    expect(tf.memory().numTensors).toBe(before);
    expect(await readdir(dir)).toEqual(['weights.safetensors']);

    // Against the file PyTorch wrote: same keys in state_dict order, same shapes, same values
    // (F16 → F32 is exact), and I64 scalar num_batches_tracked buffers for load_state_dict(strict=True).
    const torch = parseSafetensors(await readFile(fixturePath(fixture.weights))).tensors;
    const saved = parseSafetensors(await readFile(file), file);
    expect(saved.metadata.format).toBe('pt');
    expect([...saved.tensors.keys()]).toEqual([...torch.keys()]);
    for (const [key, entry] of saved.tensors) {
      expect(entry.shape, key).toEqual(torch.get(key)!.shape);
      if (key.endsWith('num_batches_tracked')) {
        expect([entry.dtype, entry.shape]).toEqual(['I64', []]);
      } else {
        expect(entry.dtype).toBe('F32');
        expect(Array.from(decodeFloat32(entry, key)), key).toEqual(Array.from(decodeFloat32(torch.get(key)!, key)));
      }
    }

    const reloaded = buildFixtureModel(fixture);
    expect((await loadTorchWeights(reloaded, file)).loaded).toHaveLength(reloaded.weights.length);
    const io = readIO(fixture);
    const [a, b] = tf.tidy(() => {
      const x = tf.tensor(io.input, io.inputShape);
      return [original.predict(x) as tf.Tensor, reloaded.predict(x) as tf.Tensor];
    });
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([a, b]);
    original.dispose();
    reloaded.dispose();
  });

  it('round-trips a freshly initialized model through the file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'save-'));
    const file = path.join(dir, 'w.safetensors');
    const a = mobileNetV2Mnist({ alpha: 0.75, numClasses: 4, seed: 1 });
    const b = mobileNetV2Mnist({ alpha: 0.75, numClasses: 4, seed: 2 });
    await saveTorchWeights(a, file);
    await loadTorchWeights(b, file);
    b.weights.forEach((w, i) => expect(Array.from(w.read().dataSync()), w.name).toEqual(Array.from(a.weights[i].read().dataSync())));
    a.dispose();
    b.dispose();
  });

  it("records the architecture and, when the model has them, the preprocessing in the file's metadata", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'save-'));
    const model = mobileNetV2Mnist({ alpha: 0.5, numClasses: 3, seed: 1 });
    await saveTorchWeights(model, path.join(dir, 'a.safetensors'));
    const bare = parseSafetensors(await readFile(path.join(dir, 'a.safetensors'))).metadata;
    expect(bare.format).toBe('pt');
    expect(JSON.parse(bare.architecture)).toEqual(architectureOf(model)!.config);
    expect(JSON.parse(bare.architecture)).toMatchObject({ alpha: 0.5, numClasses: 3, inputShape: [28, 28, 1], lastChannels: 32 });
    expect(bare.preprocessing).toBeUndefined();
    model.setUserDefinedMetadata({ classNames: ['x', 'y', 'z'], mean: [0.1], std: [0.3], inputShape: [28, 28, 1], epoch: 2 });
    await saveTorchWeights(model, path.join(dir, 'b.safetensors'));
    const full = parseSafetensors(await readFile(path.join(dir, 'b.safetensors'))).metadata;
    expect(JSON.parse(full.preprocessing)).toEqual({ classNames: ['x', 'y', 'z'], mean: [0.1], std: [0.3], inputShape: [28, 28, 1] });
    model.dispose();
  });

  it('rejects weights with no torchvision key and unwritable paths', async () => {
    const base = mobileNetV2Mnist({ alpha: 0.5, includeTop: false, pooling: 'avg' });
    const head = tf.layers.dense({ units: 2, name: 'my_head' }).apply(base.outputs[0]) as tf.SymbolicTensor;
    const custom = tf.model({ inputs: base.inputs, outputs: head });
    const dir = await mkdtemp(path.join(tmpdir(), 'save-'));
    await expect(saveTorchWeights(custom, path.join(dir, 'w.safetensors'))).rejects.toThrow(/model weight my_head\/kernel has no torchvision state_dict key/);
    const bad = path.join(dir, 'missing-dir', 'w.safetensors');
    await expect(saveTorchWeights(base, bad)).rejects.toThrow(InputError);
    expect(await readdir(dir)).toEqual([]);
    custom.dispose();
  });
});
