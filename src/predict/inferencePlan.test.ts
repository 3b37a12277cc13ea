import { afterAll, describe, expect, it } from 'vitest';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { randomizeBatchNorm } from '../../test/randomBatchNorm.js';
import { tf } from '../tf.js';
import { trainingStep } from '../training/step.js';
import { inferencePlan } from './inferencePlan.js';

/** Max |plan − model.predict| over the largest |model.predict|, and the plan's fused conv count; checks that nothing leaks. */
function compare(model: tf.LayersModel, x: tf.Tensor): { error: number; fusedConvs: number } {
  const expected = model.predict(x) as tf.Tensor;
  const before = tf.memory().numTensors;
  const plan = inferencePlan(model);
  const out = plan.predict(x);
  const { fusedConvs } = plan;
  plan.dispose();
  expect(tf.memory().numTensors).toBe(before + 1);
  expect(out.shape).toEqual(expected.shape);
  const [diff, scale] = tf.tidy(() => [tf.max(tf.abs(tf.sub(out, expected))).dataSync()[0]!, tf.max(tf.abs(expected)).dataSync()[0]!]);
  tf.dispose([out, expected]);
  if (process.env.PLAN_REPORT) console.log(tf.getBackend(), diff, scale);
  return { error: diff / Math.max(scale!, 1e-6), fusedConvs };
}

/** Conv2D with bias and relu, BN without center and scale, depthwise ×2 + BN + ReLU6, shared BN and conv outputs, epsilons 1e-3 and 1e-5. */
function plainModel(): tf.LayersModel {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: i });
  const input = tf.input({ shape: [12, 10, 3] });
  // A conv with its own relu: BN after it cannot fold (the relu sits between).
  let x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), biasInitializer: 'randomNormal' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ center: false, scale: false, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  // Bias + BN without center/scale + plain relu.
  x = tf.layers.conv2d({ filters: 8, kernelSize: 1, kernelInitializer: init(2), biasInitializer: 'randomNormal' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ center: false, scale: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  // Asymmetric zero padding (folded into the conv's explicit pads), then depthwise with
  // multiplier 2 (out channel = in·2 + m), strided, then BN and ReLU6.
  x = tf.layers.zeroPadding2d({ padding: [[0, 1], [2, 1]] }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'valid', depthwiseInitializer: init(3), useBias: true, biasInitializer: 'randomNormal' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  // A BN whose output feeds two consumers: folded, but the activation stays a layer.
  x = tf.layers.conv2d({ filters: 16, kernelSize: 1, useBias: false, kernelInitializer: init(4) }).apply(x) as tf.SymbolicTensor;
  const shared = tf.layers.batchNormalization({ epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
  const a = tf.layers.activation({ activation: 'relu6' }).apply(shared) as tf.SymbolicTensor;
  x = tf.layers.add().apply([a, shared]) as tf.SymbolicTensor;
  // A conv output with two consumers: not folded.
  const c = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'valid', useBias: false, kernelInitializer: init(5) }).apply(x) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization().apply(c) as tf.SymbolicTensor;
  x = tf.layers.concatenate().apply([bn, c]) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, kernelInitializer: init(6) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

afterAll(() => tf.setBackend('cpu'));

describe.each(['wasm', 'cpu'])('inferencePlan on %s', (backend) => {
  const TOLERANCE = 1e-4;

  it.each([[96, 0.35], [160, 0.75], [224, 1.0]] as const)('equals model.predict for RGB MobileNetV2 at %i px, α %f', async (size, alpha) => {
    await tf.setBackend(backend);
    const model = mobileNetV2({ inputShape: [size, size, 3], alpha, numClasses: 11, seed: 7, dropout: 0.2 });
    randomizeBatchNorm(model, 11);
    const x = tf.randomNormal([size === 224 ? 1 : 2, size, size, 3], 0, 1, 'float32', 5);
    const { error, fusedConvs } = compare(model, x);
    // Every conv of MobileNetV2 is followed by a BN: 52 of them at the ImageNet table.
    expect(fusedConvs).toBe(model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length);
    expect(error).toBeLessThan(TOLERANCE);
    x.dispose();
    model.dispose();
  });

  it('runs other models layer by layer, equal to model.predict, folding nothing', async () => {
    await tf.setBackend(backend);
    const model = plainModel();
    randomizeBatchNorm(model, 3);
    const x = tf.randomNormal([3, 12, 10, 3], 0, 1, 'float32', 2);
    const { error, fusedConvs } = compare(model, x);
    expect(fusedConvs).toBe(0);
    expect(error).toBeLessThan(TOLERANCE);
    x.dispose();
    model.dispose();
  });

  it('folds a MobileNetV2 of this library nested in a Sequential and in a functional model', async () => {
    await tf.setBackend(backend);
    const base = mobileNetV2({ inputShape: [64, 48, 3], alpha: 0.5, includeTop: false, pooling: 'avg', seed: 4 });
    randomizeBatchNorm(base, 9);
    const units = base.layers.filter((l) => l.getClassName() === 'BatchNormalization').length;
    // Keras's transfer-learning pattern: the base as the first layer of a Sequential with a new head.
    const sequential = tf.sequential({ layers: [base, tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })] });
    const x = tf.randomNormal([2, 64, 48, 3], 0, 1, 'float32', 3);
    const seq = compare(sequential, x);
    expect(seq.fusedConvs).toBe(units);
    expect(seq.error).toBeLessThan(TOLERANCE);
    const input = tf.input({ shape: [64, 48, 3] });
    const outer = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(base.apply(input)) as tf.SymbolicTensor });
    const nested = compare(outer, x);
    expect(nested.fusedConvs).toBe(units);
    expect(nested.error).toBeLessThan(TOLERANCE);
    x.dispose();
    // Both share the base's layers: disposing one disposes them.
    outer.dispose();
  });

  it('leaves channels-first convs and BatchNorm on another axis alone', async () => {
    await tf.setBackend(backend);
    const input = tf.input({ shape: [4, 6, 6] });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', dataFormat: 'channelsFirst', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ axis: 1 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu6' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 3, kernelSize: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ axis: 1 }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'relu6' }).apply(x) as tf.SymbolicTensor });
    randomizeBatchNorm(model, 6);
    const y = tf.randomNormal([2, 4, 6, 6], 0, 1, 'float32', 4);
    const { error, fusedConvs } = compare(model, y);
    expect(fusedConvs).toBe(0);
    expect(error).toBeLessThan(TOLERANCE);
    y.dispose();
    model.dispose();
  });

  it('gives the new outputs after a training step, when rebuilt, and leaks nothing across calls', async () => {
    await tf.setBackend(backend);
    const model = mobileNetV2({ inputShape: [32, 32, 3], alpha: 0.35, numClasses: 4, seed: 2, invertedResidualSetting: [[1, 16, 1, 1], [6, 24, 2, 2]] });
    randomizeBatchNorm(model, 8);
    const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 9);
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    const firstPlan = inferencePlan(model);
    const before = firstPlan.predict(x);
    firstPlan.dispose();
    const optimizer = tf.train.sgd(0.5);
    const step = trainingStep(model, x, y);
    optimizer.applyGradients(step.grads);
    step.dispose();
    optimizer.dispose();
    const tensors = tf.memory().numTensors;
    const errors: number[] = [];
    for (let i = 0; i < 3; i++) errors.push(compare(model, x).error);
    expect(tf.memory().numTensors).toBe(tensors);
    for (const error of errors) expect(error).toBeLessThan(TOLERANCE);
    const after = inferencePlan(model);
    const changed = tf.tidy(() => tf.max(tf.abs(tf.sub(after.predict(x), before))).dataSync()[0]!);
    after.dispose();
    expect(changed).toBeGreaterThan(1e-3);
    tf.dispose([x, y, before]);
    model.dispose();
  });
});

describe('inferencePlan', () => {
  it('refuses an input of another rank or channel count in one line', async () => {
    await tf.setBackend('cpu');
    const model = mobileNetV2({ inputShape: [32, 32, 3], numClasses: 2, invertedResidualSetting: [[1, 16, 1, 1]], lastChannels: 8 });
    const plan = inferencePlan(model);
    const x = tf.zeros([1, 32, 32, 2]);
    expect(() => plan.predict(x)).toThrow("x must fit the model's input shape [N, 32, 32, 3]; received shape [1, 32, 32, 2]");
    // Other image sizes run, as with model.apply.
    const larger = tf.zeros([1, 48, 40, 3]);
    const y = plan.predict(larger);
    expect(y.shape).toEqual([1, 2]);
    tf.dispose([x, larger, y]);
    plan.dispose();
    model.dispose();
  });

  it('is model.predict for a model with two outputs', async () => {
    await tf.setBackend('cpu');
    const input = tf.input({ shape: [4] });
    const model = tf.model({ inputs: input, outputs: [tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor, input] });
    const plan = inferencePlan(model);
    expect(plan.fusedConvs).toBe(0);
    plan.dispose();
    model.dispose();
  });
});
