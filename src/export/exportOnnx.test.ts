import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureModel, fixturePath, fixtures, readIO } from '../../test/fixtures/fixtures.js';
import { onnxFiles, relativeDiff, runOnnx, toNchw } from '../../test/onnx.js';
import { randomizeBatchNorm } from '../../test/randomBatchNorm.js';
import { tinyModel } from '../../test/tinyModel.js';
import { fileSystem, loadModel } from '../io/fileSystem.js';
import { mobileNetV2Mnist } from '../models/mnist.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import type { MobileNetV2Options } from '../models/options.js';
import { pretrainedMobileNetV2 } from '../pretrained/pretrainedMobileNetV2.js';
import { tf } from '../tf.js';
import { loadTorchWeights } from '../weights/loadTorchWeights.js';
import { exportOnnx, onnxModel } from './exportOnnx.js';
import { decodeModel } from './onnxCodec.js';

let dir: string;
const files = onnxFiles(() => dir);

beforeAll(async () => {
  // The reference is TF.js's stock cpu kernels running the unfolded model (`model.predict`).
  await tf.setBackend('cpu');
  dir = mkdtempSync(path.join(tmpdir(), 'onnx-export-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The model's output for `x` in ONNX's layout (NCHW for a feature map under 'nchw'). */
function reference(model: tf.LayersModel, x: tf.Tensor, layout: 'nchw' | 'nhwc'): Float32Array {
  return tf.tidy(() => {
    const y = model.predict(x) as tf.Tensor;
    return (y.rank === 4 && layout === 'nchw' ? tf.transpose(y, [0, 3, 1, 2]) : y).dataSync() as Float32Array;
  });
}

/** Exports `model` in both layouts and checks onnxruntime's output on a random batch against TF.js. */
async function expectSameOutputs(name: string, model: tf.LayersModel, batch: number, seed: number): Promise<void> {
  const shape = [batch, ...(model.inputs[0]!.shape.slice(1) as number[])];
  const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
  const nhwc = x.dataSync() as Float32Array;
  for (const layout of ['nchw', 'nhwc'] as const) {
    const file = files.write(`${name}_${layout}.onnx`, await exportOnnx(model, { layout }));
    const [n, h, w, c] = shape as [number, number, number, number];
    const input = layout === 'nchw' ? toNchw(nhwc, shape) : nhwc;
    const out = await runOnnx(file, input, layout === 'nchw' ? [n, c, h, w] : shape);
    const expected = reference(model, x, layout);
    // Folded BatchNorm rounds differently from the layers': relative to the outputs' scale.
    expect(relativeDiff(out.data, expected), `${name} ${layout}`).toBeLessThan(1e-4);
  }
  x.dispose();
}

describe('exportOnnx: onnxruntime runs what TF.js runs', () => {
  const cases: [string, MobileNetV2Options, number][] = [
    ['a0.35_96_classifier', { alpha: 0.35, inputShape: [96, 96, 3], numClasses: 7 }, 3],
    ['a0.5_160x128_avg', { alpha: 0.5, inputShape: [160, 128, 3], includeTop: false, pooling: 'avg' }, 2],
    ['a1_96x64_featuremap', { alpha: 1, inputShape: [96, 64, 3], includeTop: false }, 2],
    ['a0.75_table_softmax_gray', {
      alpha: 0.75, inputShape: [64, 48, 1], numClasses: 5, classifierActivation: 'softmax', firstChannels: 16, lastChannels: 256,
      invertedResidualSetting: [[1, 16, 1, 1], [4, 24, 2, 2], [6, 40, 3, 2], [3, 48, 1, 1]], batchNorm: { epsilon: 1e-3, momentum: 0.01 },
    }, 2],
    ['a0.35_table_max', { alpha: 0.35, inputShape: [33, 47, 3], includeTop: false, pooling: 'max', invertedResidualSetting: [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2]] }, 2],
  ];
  it.each(cases)('%s', async (name, options, batch) => {
    const model = mobileNetV2({ ...options, seed: 5 });
    randomizeBatchNorm(model, 3);
    await expectSameOutputs(name, model, batch, 11);
    model.dispose();
  });

  it("torchvision's default (α 1, 224 px, 1,000 classes) and the seed's MNIST model", async () => {
    const big = mobileNetV2({ seed: 2 });
    randomizeBatchNorm(big, 4);
    await expectSameOutputs('a1_224', big, 1, 12);
    big.dispose();
    const mnist = mobileNetV2Mnist({ seed: 3 });
    randomizeBatchNorm(mnist, 5);
    await expectSameOutputs('mnist', mnist, 4, 13);
    mnist.dispose();
  }, 240_000);

  it('the free batch axis runs any batch size in one file', async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [64, 64, 3], numClasses: 3, seed: 6 });
    randomizeBatchNorm(model, 6);
    const bytes = await exportOnnx(model, { layout: 'nhwc' });
    for (const n of [1, 5]) {
      const x = tf.randomNormal([n, 64, 64, 3], 0, 1, 'float32', n);
      const out = await runOnnx(bytes, x.dataSync() as Float32Array, [n, 64, 64, 3]);
      expect(out.dims).toEqual([n, 3]);
      expect(relativeDiff(out.data, reference(model, x, 'nhwc'))).toBeLessThan(1e-4);
      x.dispose();
    }
    model.dispose();
  });
});

describe('exportOnnx against PyTorch', () => {
  // Every parity fixture: torchvision-layout weights and PyTorch's own float64 eval logits (an
  // independent reference), widths 0.35 to 1.3, MNIST and RGB, square and not.
  it.each(fixtures.map((f) => [f.name, f] as const))('%s: onnxruntime gives PyTorch\'s logits', async (name, f) => {
    const model = buildFixtureModel(f);
    await loadTorchWeights(model, readFileSync(fixturePath(f.weights)));
    const io = readIO(f);
    const file = files.write(`torch_${name}.onnx`, await exportOnnx(model));
    const [n, h, w, c] = io.inputShape as [number, number, number, number];
    const out = await runOnnx(file, toNchw(io.input, io.inputShape), [n, c, h, w]);
    expect(out.dims).toEqual(io.logitsShape);
    const scale = Math.max(...io.logits.map(Math.abs));
    expect(relativeDiff(out.data, io.logits) * scale).toBeLessThanOrEqual(1e-4 + 1e-3 * scale);
    model.dispose();
  });
});

describe('exportOnnx: what the file says about itself', () => {
  it('opset 13, IR 7, producer, input/output names and shapes, metadata_props, folded units', async () => {
    const model = mobileNetV2({ alpha: 0.5, inputShape: [96, 80, 3], numClasses: 3, seed: 7 });
    model.setUserDefinedMetadata({ classNames: ['cat', 'dog', 'fox'], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], inputShape: [96, 80, 3], resize: 99 });
    const decoded = decodeModel(await exportOnnx(model));
    expect(decoded.ir_version).toBe(7);
    expect(decoded.opset_import).toEqual([{ domain: '', version: 13 }]);
    expect(decoded.producer_name).toBe('mobilenetv2-tfjs');
    expect(decoded.producer_version).toBe(JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')).version);
    const { graph } = decoded;
    const dims = (v: (typeof graph.input)[number]) => v.type.tensor_type.shape.dim.map((d) => ('dim_param' in d && d.dim_param) || (d as { dim_value: number }).dim_value);
    expect(graph.input.map((v) => [v.name, dims(v)])).toEqual([['input', ['batch', 3, 96, 80]]]);
    expect(graph.output.map((v) => [v.name, dims(v)])).toEqual([['logits', ['batch', 3]]]);
    const meta = Object.fromEntries(decoded.metadata_props.map((p) => [p.key, JSON.parse(p.value)]));
    expect(meta).toEqual({
      classNames: ['cat', 'dog', 'fox'], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], inputSize: [96, 80], resize: 99,
      layout: 'NCHW', architecture: expect.objectContaining({ alpha: 0.5, inputShape: [96, 80, 3], numClasses: 3 }),
    });
    // Each conv unit is one Conv (BatchNorm folded), ReLU6 one Clip; no BatchNormalization left.
    const count = (op: string) => graph.node.filter((n) => n.op_type === op).length;
    const batchNorms = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length;
    expect(count('Conv')).toBe(batchNorms);
    expect(count('Clip')).toBe(model.layers.filter((l) => l.getClassName() === 'Activation').length);
    expect(count('Add')).toBe(model.layers.filter((l) => l.getClassName() === 'Add').length);
    expect(graph.node.map((n) => n.op_type)).not.toContain('BatchNormalization');
    const depthwise = graph.node.find((n) => n.name === 'block_1_depthwise')!;
    expect(depthwise.attribute!.find((a) => a.name === 'group')!.i).toBe(model.getLayer('block_1_depthwise').getWeights()[0]!.shape[2]);
    expect(depthwise.attribute!.find((a) => a.name === 'pads')!.ints).toEqual([1, 1, 1, 1]);
    model.dispose();
  });

  it('a saved model loaded back, and pretrained weights, keep their classes and preprocessing', async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [64, 64, 3], numClasses: 2, seed: 8 });
    randomizeBatchNorm(model, 8);
    model.setUserDefinedMetadata({ classNames: ['a', 'b'], mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2], inputShape: [64, 64, 3] });
    const saved = path.join(dir, 'saved');
    await model.save(fileSystem(saved));
    const loaded = await loadModel(saved);
    const file = files.write('loaded.onnx', await exportOnnx(loaded, { layout: 'nhwc' }));
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 3);
    expect(relativeDiff((await runOnnx(file, x.dataSync() as Float32Array, [2, 64, 64, 3])).data, reference(model, x, 'nhwc'))).toBeLessThan(1e-4);
    const meta = Object.fromEntries(decodeModel(readFileSync(file)).metadata_props.map((p) => [p.key, JSON.parse(p.value)]));
    expect(meta).toMatchObject({ classNames: ['a', 'b'], mean: [0.5, 0.5, 0.5], layout: 'NHWC', inputSize: [64, 64] });
    x.dispose();
    model.dispose();
    loaded.dispose();

    // torchvision weights read from a file: ImageNet's eval transform (resize 232 → 224, scaled to 96 → 99).
    const tv = fixtures.find((f) => f.name === 'tv_a0.5_64x64')!;
    const pretrained = await pretrainedMobileNetV2({ file: fixturePath(tv.weights), inputSize: 96, classNames: Array.from({ length: tv.numClasses }, (_, i) => `c${i}`) });
    const fromTorch = decodeModel(readFileSync(files.write('pretrained.onnx', await exportOnnx(pretrained))));
    const props = Object.fromEntries(fromTorch.metadata_props.map((p) => [p.key, JSON.parse(p.value)]));
    expect(props).toMatchObject({ classNames: ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'].slice(0, tv.numClasses), mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resize: 99, inputSize: [96, 96] });
    pretrained.dispose();
  });

  it("the engine's variant: NHWC, free height and width, pooled features as a second output", async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [64, 64, 3], numClasses: 4, seed: 9 });
    const file = files.write('engine.onnx', await onnxModel(model, (await import('../models/architectureOf.js')).requireArchitecture(model, 'test'), { layout: 'nhwc', pooledOutput: true, freeSize: true }));
    const { graph } = decodeModel(readFileSync(file));
    expect(graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_param: 'height' }, { dim_param: 'width' }, { dim_value: 3 }]);
    expect(graph.output.map((o) => o.name)).toEqual(['logits', 'global_average_pooling2d.flatten']);
    model.dispose();
  });
});

describe('exportOnnx refuses what it cannot export faithfully', () => {
  it('any other model, with one line saying what is supported', async () => {
    const other = tinyModel(1);
    await expect(exportOnnx(other)).rejects.toThrow(/^exportOnnx supports MobileNetV2 models built by this library \(.*\); model '.*' is not one: [^\n]+$/);
    // A MobileNetV2 with a layer added by hand would load but compute something else: refused.
    const base = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], includeTop: false, pooling: 'avg', seed: 1 });
    const extra = tf.layers.dense({ units: 2 }).apply(base.outputs[0]!) as tf.SymbolicTensor;
    await expect(exportOnnx(tf.model({ inputs: base.inputs, outputs: extra }))).rejects.toThrow(/is not one: it has a layer the architecture does not/);
    other.dispose();
    base.dispose();
  });

  it('bad options and malformed metadata', async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 2, seed: 1 });
    await expect(exportOnnx(model, { layout: 'NCHW' as never })).rejects.toThrow("layout must be 'nchw' or 'nhwc'");
    await expect(exportOnnx(model, { opset: 17 } as never)).rejects.toThrow("unknown exportOnnx option 'opset'");
    model.setUserDefinedMetadata({ classNames: ['a', 'b'], mean: [0.5], std: [0.2, 0.2, 0.2], inputShape: [32, 32, 3] });
    await expect(exportOnnx(model)).rejects.toThrow('mean and std must be 3 finite numbers each');
    model.dispose();
  });

  it('leaves no tensors behind', async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 2, seed: 1 });
    await exportOnnx(model);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await exportOnnx(model, { layout: i % 2 ? 'nhwc' : 'nchw' });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

files.itChecksAll();
