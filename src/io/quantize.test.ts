import { beforeAll, describe, expect, it } from 'vitest';
import { tinyModel } from '../../test/tinyModel.js';
import { InputError } from '../errors.js';
import { tf } from '../tf.js';
import { modelArtifacts } from './modelArtifacts.js';
import { quantizeArtifacts, quantizedHandler, UINT8_FLOAT16_WEIGHTS } from './quantize.js';

/** Artifacts with weights of every dtype a manifest can hold, one already quantized. */
async function mixedArtifacts(): Promise<tf.io.ModelArtifacts> {
  const tensors = [
    { name: 'dense/kernel', tensor: tf.tensor([0.5, -1.25, 3, 0.001], [2, 2]) },
    { name: 'step', tensor: tf.tensor([7, -3, 2 ** 30], [3], 'int32') },
    { name: 'mask', tensor: tf.tensor([true, false], [2], 'bool') },
    { name: 'tag', tensor: tf.tensor(['a', 'bcd']) },
  ];
  const { data, specs } = await tf.io.encodeWeights(tensors);
  tf.dispose(tensors.map((t) => t.tensor));
  // An int32 weight stored by tfjs-converter as uint8 levels: 10 + 2·q.
  const levels = new Uint8Array([0, 1, 255]);
  const counter: tf.io.WeightsManifestEntry = { name: 'counter', shape: [3], dtype: 'int32', quantization: { dtype: 'uint8', scale: 2, min: 10 } };
  const optimizer: tf.io.WeightsManifestEntry = { name: 'opt/m', shape: [2], dtype: 'float32', group: 'optimizer' };
  const weightData = tf.io.CompositeArrayBuffer.join([data as ArrayBuffer, levels.buffer, new Float32Array([1, 2]).buffer]);
  return { modelTopology: { fake: true }, weightSpecs: [...specs, counter, optimizer], weightData, userDefinedMetadata: { classNames: ['x'] } };
}

function decodeAll(artifacts: tf.io.ModelArtifacts): Record<string, unknown[]> {
  const map = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const out = Object.fromEntries(Object.entries(map).map(([k, t]) => [k, Array.from(t.dataSync() as ArrayLike<unknown>)]));
  tf.dispose(Object.values(map));
  return out;
}

describe('quantizeArtifacts', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('quantizes float32 weights only: int32, bool and string weights stay exact, an already quantized int32 weight is stored plainly', async () => {
    const artifacts = await mixedArtifacts();
    for (const quantize of ['float16', 'uint8'] as const) {
      const { artifacts: q, report } = await quantizeArtifacts(artifacts, { quantize });
      expect(report.kept).toEqual(['step', 'mask', 'tag', 'counter']);
      expect(q.modelTopology).toEqual({ fake: true });
      expect(q.userDefinedMetadata).toEqual({ classNames: ['x'] });
      const specs = Object.fromEntries(q.weightSpecs!.map((s) => [s.name, s]));
      expect(specs.step).toEqual({ name: 'step', shape: [3], dtype: 'int32' });
      expect(specs.counter).toEqual({ name: 'counter', shape: [3], dtype: 'int32' });
      expect(specs['opt/m'].group).toBe('optimizer');
      expect(specs['dense/kernel'].quantization?.dtype).toBe(quantize);
      const values = decodeAll(q);
      expect(values.step).toEqual([7, -3, 2 ** 30]);
      expect(values.counter).toEqual([10, 12, 520]);
      expect(values.mask).toEqual([1, 0]);
      expect(values.tag).toHaveLength(2);
      expect(values['opt/m']).toEqual([1, 2]);
    }
  });

  it('re-quantizes weights that are quantized already (float16 → uint8)', async () => {
    const model = tinyModel(1);
    const half = (await quantizeArtifacts(await modelArtifacts(model), { quantize: 'float16' })).artifacts;
    const { artifacts: q, report } = await quantizeArtifacts(half, { quantize: 'uint8' });
    expect(report.uint8.length + report.float16.length).toBe(model.weights.length);
    const fromHalf = decodeAll(half);
    const fromQ = decodeAll(q);
    for (const spec of q.weightSpecs!) {
      const scale = spec.quantization?.scale ?? 0;
      const a = fromHalf[spec.name] as number[];
      const b = fromQ[spec.name] as number[];
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]))), spec.name).toBeLessThanOrEqual(spec.quantization?.dtype === 'uint8' ? scale : 0);
    }
    model.dispose();
  });

  it('keeps BatchNorm moving statistics in float16 under uint8 by default; patterns choose others', async () => {
    const model = tinyModel(2);
    const artifacts = await modelArtifacts(model);
    const byDefault = (await quantizeArtifacts(artifacts, { quantize: 'uint8' })).report;
    expect(UINT8_FLOAT16_WEIGHTS).toEqual(['*/moving_mean', '*/moving_variance']);
    expect(byDefault.float16).toEqual(['bn_a/moving_mean', 'bn_a/moving_variance', 'bn_b/moving_mean', 'bn_b/moving_variance']);
    const all = (await quantizeArtifacts(artifacts, { quantize: 'uint8', float16Weights: [] })).report;
    expect(all.float16).toEqual([]);
    const bn = (await quantizeArtifacts(artifacts, { quantize: 'uint8', float16Weights: ['bn_?/*', 'predictions/bias'] })).report;
    const names = artifacts.weightSpecs!.map((spec) => spec.name);
    expect(bn.float16).toEqual(names.filter((n) => n.startsWith('bn_') || n === 'predictions/bias'));
    const size = (name: string) => artifacts.weightSpecs!.find((spec) => spec.name === name)!.shape.reduce((a, b) => a * b, 1);
    const sum = (list: string[]) => list.reduce((n, name) => n + size(name), 0);
    expect(bn.bytesAfter).toBe(sum(bn.uint8) + 2 * sum(bn.float16));
    expect(bn.bytesBefore).toBe(4 * sum(names));
    // A pattern is a glob, not a regular expression: '.' is a literal dot.
    expect((await quantizeArtifacts(artifacts, { quantize: 'uint8', float16Weights: ['bn.a/*'] })).report.float16).toEqual([]);
    model.dispose();
  });

  it('rejects bad options with one line naming the option, and weights beyond float16', async () => {
    const artifacts = await modelArtifacts(tinyModel(3));
    await expect(quantizeArtifacts(artifacts, { quantize: 'int8' as never })).rejects.toThrow("quantize must be 'float16' or 'uint8'; received `quantize=\"int8\"`");
    await expect(quantizeArtifacts(artifacts, { quantize: 'uint8', float16: [] } as never)).rejects.toThrow("unknown quantize option 'float16'; did you mean 'float16Weights'?");
    await expect(quantizeArtifacts(artifacts, { quantize: 'uint8', bits: 8 } as never)).rejects.toThrow(/unknown quantize option 'bits'; allowed: quantize, float16Weights/);
    await expect(quantizeArtifacts(artifacts, { quantize: 'uint8', float16Weights: '*' as never })).rejects.toThrow(/float16Weights must be an array of weight-name patterns/);
    await expect(quantizeArtifacts(artifacts, 'float16' as never)).rejects.toThrow(InputError);
    const { data, specs } = await tf.io.encodeWeights([{ name: 'big/kernel', tensor: tf.tensor([1e5]) }]);
    await expect(quantizeArtifacts({ weightSpecs: specs, weightData: data }, { quantize: 'float16' })).rejects.toThrow(/weight 'big\/kernel' holds 100000 at index 0, beyond float16's range/);
    expect((await quantizeArtifacts({ weightSpecs: specs, weightData: data }, { quantize: 'uint8' })).report.uint8).toEqual(['big/kernel']);
  });

  it('leaves no tensors behind', async () => {
    const model = tinyModel(4);
    const artifacts = await modelArtifacts(model);
    await quantizeArtifacts(artifacts, { quantize: 'uint8' });
    const before = tf.memory().numTensors;
    for (const quantize of ['float16', 'uint8'] as const) await quantizeArtifacts(artifacts, { quantize });
    await quantizeArtifacts(await mixedArtifacts(), { quantize: 'uint8' });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('quantizedHandler', () => {
  it('quantizes what model.save hands it and passes it to a handler or to a URL of a registered router', async () => {
    const model = tinyModel(5);
    let received: tf.io.ModelArtifacts | undefined;
    const sink = tf.io.withSaveHandler(async (a) => {
      received = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    });
    await model.save(quantizedHandler(sink, { quantize: 'float16' }));
    expect(received!.weightSpecs!.every((s) => s.quantization?.dtype === 'float16')).toBe(true);
    const reloaded = await tf.loadLayersModel(tf.io.fromMemory(received!));
    const x = tf.randomNormal([1, 28, 28, 1], 0, 1, 'float32', 1);
    const [a, b] = tf.tidy(() => [(model.predict(x) as tf.Tensor).dataSync(), (reloaded.predict(x) as tf.Tensor).dataSync()]);
    const scale = Math.max(...Array.from(a).map(Math.abs));
    expect(Math.max(...Array.from(a).map((v, i) => Math.abs(v - b[i])))).toBeLessThan(2e-3 * scale);

    // A page's 'downloads://' is such a router; in Node a test one stands in for it.
    let routed: tf.io.ModelArtifacts | undefined;
    const router = (url: string | string[]) => (typeof url === 'string' && url.startsWith('quanttest://')
      ? tf.io.withSaveHandler(async (art) => {
        routed = art;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(art) };
      })
      : null);
    tf.io.registerSaveRouter(router as Parameters<typeof tf.io.registerSaveRouter>[0]);
    await model.save(quantizedHandler('quanttest://m', { quantize: 'uint8' }));
    expect(routed!.weightSpecs!.filter((s) => s.quantization?.dtype === 'uint8')).toHaveLength(model.weights.length - 4);
    expect(() => quantizedHandler('nowhere://m', { quantize: 'uint8' })).toThrow(/no TF.js save handler takes 'nowhere:\/\/m'/);
    expect(() => quantizedHandler({} as tf.io.IOHandler, { quantize: 'uint8' })).toThrow(/must be a URL or an IOHandler with save\(\)/);
    expect(() => quantizedHandler(sink, { quantize: 'uint4' as never })).toThrow(InputError);
    tf.dispose([x]);
    model.dispose();
    reloaded.dispose();
  });
});
