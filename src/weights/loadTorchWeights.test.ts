import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { mobileNetV2Mnist } from '../models/mnist.js';
import { tf } from '../tf.js';
import { fixturePath } from '../../test/fixtures/fixtures.js';
import { loadTorchWeights } from './loadTorchWeights.js';
import { decodeFloat32, encodeSafetensors, parseSafetensors, type SafetensorsInput } from './safetensors.js';

const MNIST = fixturePath('mnist_a0.5.safetensors'); // F32
const TV = fixturePath('tv_a0.35_67x45.safetensors'); // F16, 7 classes

async function torchTensors(file: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const { tensors } = parseSafetensors(await readFile(file), file);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [key, entry] of tensors) {
    if (!key.endsWith('num_batches_tracked')) out.set(key, { shape: entry.shape, data: decodeFloat32(entry, key) });
  }
  return out;
}

/** The fixture's tensors as raw entries, edited, re-encoded: a state_dict with a key dropped, added or changed. */
async function edited(file: string, edit: (t: Record<string, SafetensorsInput>) => void): Promise<Uint8Array> {
  const { tensors } = parseSafetensors(await readFile(file), file);
  const record: Record<string, SafetensorsInput> = {};
  for (const [key, entry] of tensors) record[key] = entry;
  edit(record);
  return encodeSafetensors(record);
}

const weightsOf = (model: tf.LayersModel) => model.weights.map((w) => Array.from(w.read().dataSync()));

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).not.toContain('\n');
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('loadTorchWeights', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('converts OIHW, depthwise [C,1,3,3], Linear [out,in] and BN buffers element by element', async () => {
    const model = mobileNetV2Mnist({ alpha: 0.5 });
    const torch = await torchTensors(MNIST);
    await loadTorchWeights(model, MNIST);
    const tfValue = (layer: string, i: number) => model.getLayer(layer).getWeights()[i].arraySync();

    const stem = tfValue('Conv1', 0) as number[][][][]; // [h, w, in, out]
    const stemTorch = torch.get('features.0.0.weight')!; // [out, in, h, w]
    const [o, i] = stemTorch.shape;
    for (const [h, w, c, k] of [[0, 0, 0, 0], [2, 1, 0, 5], [1, 2, i - 1, o - 1]]) {
      expect(stem[h][w][c][k]).toBe(stemTorch.data[((k * i + c) * 3 + h) * 3 + w]);
    }
    // Block 1 has t = 6: its depthwise conv is conv.1.0.
    const dw = tfValue('block_1_depthwise', 0) as number[][][][]; // [h, w, C, 1]
    const dwTorch = torch.get('features.2.conv.1.0.weight')!; // [C, 1, h, w]
    expect(dwTorch.shape[1]).toBe(1);
    for (const [h, w, c] of [[0, 1, 3], [2, 2, dwTorch.shape[0] - 1], [1, 0, 0]]) {
      expect(dw[h][w][c][0]).toBe(dwTorch.data[(c * 3 + h) * 3 + w]);
    }
    const dense = tfValue('predictions', 0) as number[][]; // [in, out]
    const linear = torch.get('classifier.1.weight')!; // [out, in]
    for (const [k, c] of [[0, 0], [9, 3], [4, linear.shape[1] - 1]]) expect(dense[c][k]).toBe(linear.data[k * linear.shape[1] + c]);
    expect(tfValue('predictions', 1)).toEqual(Array.from(torch.get('classifier.1.bias')!.data));

    const torchNames = ['weight', 'bias', 'running_mean', 'running_var'];
    torchNames.forEach((name, index) => {
      expect(tfValue('block_0_project_BN', index)).toEqual(Array.from(torch.get(`features.1.conv.2.${name}`)!.data));
    });
    model.dispose();
  });

  it('ignores I64 num_batches_tracked, takes bytes or an ArrayBuffer, and leaks no tensors', async () => {
    const bytes = await readFile(MNIST);
    expect([...parseSafetensors(bytes).tensors.values()].filter((e) => e.dtype === 'I64')).toHaveLength(31);
    const fromPath = mobileNetV2Mnist({ alpha: 0.5 });
    const fromBytes = mobileNetV2Mnist({ alpha: 0.5 });
    const fromBuffer = mobileNetV2Mnist({ alpha: 0.5 });
    const before = tf.memory().numTensors;
    const result = await loadTorchWeights(fromPath, MNIST);
    await loadTorchWeights(fromBytes, new Uint8Array(bytes));
    await loadTorchWeights(fromBuffer, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(tf.memory().numTensors).toBe(before);
    expect(result).toEqual({ loaded: fromPath.weights.map(() => expect.any(String)), missing: [], unexpected: [], mismatched: [] });
    expect(weightsOf(fromBytes)).toEqual(weightsOf(fromPath));
    expect(weightsOf(fromBuffer)).toEqual(weightsOf(fromPath));
    for (const m of [fromPath, fromBytes, fromBuffer]) m.dispose();
  });

  it('strict: a shape mismatch names the key and both shapes and leaves the model untouched', async () => {
    const model = mobileNetV2({ alpha: 0.35, numClasses: 10, inputShape: [32, 32, 3], seed: 3 });
    const original = weightsOf(model);
    const before = tf.memory().numTensors;
    const err = await rejection(loadTorchWeights(model, TV));
    expect(err.message).toBe(
      `classifier.1.weight: shape [7, 1280] in ${TV} does not match the model's [10, 1280] (and 1 more); pass { strict: false } to load the rest`,
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(weightsOf(model)).toEqual(original);
    model.dispose();
  });

  it('strict: names a missing key, an unexpected key, and a non-float weight', async () => {
    const model = mobileNetV2Mnist({ alpha: 0.5 });
    const missing = await edited(MNIST, (t) => delete t['features.3.conv.1.1.running_var']);
    expect((await rejection(loadTorchWeights(model, missing))).message).toBe(
      'features.3.conv.1.1.running_var: missing from the safetensors bytes; the model needs shape [96]; pass { strict: false } to load the rest',
    );
    const unexpected = await edited(MNIST, (t) => {
      t['extra.weight'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
      t['features.99.1.num_batches_tracked'] = { dtype: 'I64', shape: [], data: new BigInt64Array(1) };
    });
    expect((await rejection(loadTorchWeights(model, unexpected))).message).toBe(
      'extra.weight: in the safetensors bytes (shape [2]) but the model has no such weight (and 1 more); pass { strict: false } to load the rest',
    );
    const integer = await edited(MNIST, (t) => {
      t['features.0.1.weight'] = { dtype: 'I32', shape: [16], data: new Int32Array(16) };
    });
    expect((await rejection(loadTorchWeights(model, integer))).message).toMatch(/tensor 'features.0.1.weight' has dtype I32; expected a float dtype/);
    model.dispose();
  });

  it('strict: false loads what matches and returns what it skipped, like load_state_dict', async () => {
    const model = mobileNetV2({ alpha: 0.35, numClasses: 10, inputShape: [32, 32, 3], seed: 3 });
    const head = model.getLayer('predictions').getWeights().map((w) => w.arraySync());
    const result = await loadTorchWeights(model, TV, { strict: false });
    expect(result.missing).toEqual([]);
    expect(result.unexpected).toEqual([]);
    expect(result.mismatched).toEqual([
      { key: 'classifier.1.weight', expected: [10, 1280], received: [7, 1280] },
      { key: 'classifier.1.bias', expected: [10], received: [7] },
    ]);
    expect(result.loaded).toHaveLength(model.weights.length - 2);
    expect(model.getLayer('predictions').getWeights().map((w) => w.arraySync())).toEqual(head);
    const torch = await torchTensors(TV);
    expect(Array.from(model.getLayer('Conv_1_bn').getWeights()[3].dataSync())).toEqual(Array.from(torch.get('features.18.1.running_var')!.data));

    const partial = await edited(MNIST, (t) => delete t['features.3.conv.1.1.running_var']);
    const mnist = mobileNetV2Mnist({ alpha: 0.5 });
    expect((await loadTorchWeights(mnist, partial, { strict: false })).missing).toEqual(['features.3.conv.1.1.running_var']);
    model.dispose();
    mnist.dispose();
  });

  it('strict: false on a headless model reports the classifier as unexpected; a custom head is missing', async () => {
    const base = mobileNetV2Mnist({ alpha: 0.5, includeTop: false, pooling: 'avg' });
    const result = await loadTorchWeights(base, MNIST, { strict: false });
    expect(result.unexpected).toEqual(['classifier.1.weight', 'classifier.1.bias']);
    expect(result.missing).toEqual([]);
    await expect(loadTorchWeights(base, MNIST)).rejects.toThrow(/^classifier.1.weight: in .* but the model has no such weight \(and 1 more\)/);

    const head = tf.layers.dense({ units: 10, name: 'my_head' }).apply(base.outputs[0]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: base.inputs, outputs: head });
    expect((await loadTorchWeights(model, MNIST, { strict: false })).missing).toEqual(['my_head/kernel', 'my_head/bias']);
    await expect(loadTorchWeights(model, MNIST)).rejects.toThrow(/^model weight my_head\/kernel has no torchvision state_dict key/);
    model.dispose();
  });

  it('rejects junk, truncated and unreadable files and bad arguments in one line naming the culprit', async () => {
    const model = mobileNetV2Mnist({ alpha: 0.5 });
    const before = tf.memory().numTensors;
    const bytes = await readFile(MNIST);
    expect((await rejection(loadTorchWeights(model, bytes.subarray(0, bytes.length - 100)))).message).toMatch(
      /^the safetensors bytes: tensor 'classifier.1.weight': data_offsets .* lie outside/,
    );
    expect((await rejection(loadTorchWeights(model, new Uint8Array(0)))).message).toMatch(/^the safetensors bytes: not a safetensors file/);
    const notThere = fixturePath('no-such-file.safetensors');
    expect((await rejection(loadTorchWeights(model, notThere))).message).toBe(`${notThere}: cannot read the weights file (ENOENT)`);
    const manifest = fixturePath('manifest.json');
    expect((await rejection(loadTorchWeights(model, manifest))).message).toMatch(new RegExp(`^${manifest}: not a safetensors file`));
    await rejection(loadTorchWeights(model, 42 as unknown as string));
    await rejection(loadTorchWeights(model, MNIST, { strict: 'no' as unknown as boolean }));
    expect((await rejection(loadTorchWeights(model, MNIST, { strickt: false } as never))).message).toBe(
      "unknown loadTorchWeights option 'strickt'; did you mean 'strict'?",
    );
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
