import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerKernels, restoreStockKernels } from '../backend/registerKernels.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { tf } from '../tf.js';
import { trainingStep } from './step.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => registerKernels());

const build = (seed: number) => mobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], numClasses: 5, dropout: 0, seed });

function batch(n: number): [tf.Tensor4D, tf.Tensor1D] {
  return [tf.randomNormal([n, 32, 32, 3], 0, 1, 'float32', 7), tf.tensor1d(Array.from({ length: n }, (_, i) => i % 5), 'int32')];
}

/** TF.js alone: stock kernels and gradients, `model.apply` on the tape, stock loss ops. */
function stockStep(model: tf.LayersModel, x: tf.Tensor, labels: tf.Tensor1D): { loss: number; grads: Record<string, Float32Array> } {
  restoreStockKernels();
  try {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(x, { training: true }) as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 5), logits) as tf.Scalar;
    }, vars);
    const out = { loss: value.dataSync()[0]!, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array])) };
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  } finally {
    registerKernels();
  }
}

const movingStats = (model: tf.LayersModel) =>
  model.weights.filter((w) => w.name.includes('moving')).map((w) => w.read().dataSync() as Float32Array);

/**
 * Relative to the largest expected value, with an absolute floor: a gradient that cancels to
 * near zero (a first BN gamma) sums ~1500 float32 terms of size ~1 in another order. Both sides
 * are float32 through ~50 layers whose BatchNorms divide by small variances, summed in other
 * orders: the library's kernels on the plain `model.apply` tape differ from stock by up to
 * 2.4e-4 of the largest value here (a depthwise kernel's gradient), so 5e-4 leaves room for
 * rounding only; each kernel alone is held to 1e-4 in test/kernels.test.ts.
 */
function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst, what).toBeLessThan(5e-4 * scale + 5e-5);
}

describe('trainingStep', () => {
  it('gives stock TF.js gradients and BN updates for MobileNetV2 (3 channels, α=0.35) and keeps no tensor', () => {
    const ours = build(3);
    const stock = build(3);
    const [x, labels] = batch(6);
    const before = tf.memory().numTensors;
    const step = trainingStep(ours, x, labels);
    const loss = step.loss.dataSync()[0]!;
    const grads = Object.fromEntries(Object.entries(step.grads).map(([k, g]) => [k, g.dataSync() as Float32Array]));
    step.dispose();
    expect(tf.memory().numTensors).toBe(before);

    const reference = stockStep(stock, x, labels);
    expect(loss).toBeCloseTo(reference.loss, 4);
    // The two models' variables have different unique names; match them by position.
    const names = (m: tf.LayersModel) => m.trainableWeights.map((w) => (w.read() as tf.Variable).name);
    const [ourNames, stockNames] = [names(ours), names(stock)];
    expect(Object.keys(grads).length).toBe(ourNames.length);
    ourNames.forEach((name, i) => expectClose(grads[name]!, reference.grads[stockNames[i]!]!, ours.trainableWeights[i]!.name));
    const [a, b] = [movingStats(ours), movingStats(stock)];
    a.forEach((m, i) => expectClose(m, b[i]!, `moving statistic ${i}`));
    tf.dispose([x, labels]);
    ours.dispose();
    stock.dispose();
  });

  it('keeps frozen BatchNorm layers in inference mode without touching their call', () => {
    const model = build(4);
    for (const layer of model.layers) if (layer.getClassName() === 'BatchNormalization') layer.trainable = false;
    const [x, labels] = batch(4);
    const before = movingStats(model);
    const step = trainingStep(model, x, labels);
    step.dispose();
    movingStats(model).forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(before[i]!)));
    expect(model.layers.every((l) => !Object.hasOwn(l, 'call'))).toBe(true);
    tf.dispose([x, labels]);
    model.dispose();
  });
});
