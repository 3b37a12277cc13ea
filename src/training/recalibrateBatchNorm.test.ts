import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKernels, restoreStockKernels } from '../backend/registerKernels.js';
import { tensorDataset } from '../data/tensorDataset.js';
import { tf } from '../tf.js';
import { permutation, seededRandom } from './random.js';
import { recalibrateBatchNorm } from './recalibrateBatchNorm.js';

const N = 11;
const EPS = 1e-5;

/** conv → BN a → relu6 → dropout → conv → BN b → pool → dense, with non-trivial BN weights. */
function model(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), name: 'conv_a' }).apply(input);
  x = tf.layers.batchNormalization({ momentum: 0.9, epsilon: EPS, gammaInitializer: tf.initializers.constant({ value: 1.5 }), betaInitializer: tf.initializers.constant({ value: 0.2 }), name: 'bn_a' }).apply(x);
  x = tf.layers.activation({ activation: 'relu6', name: 'relu_a' }).apply(x);
  x = tf.layers.dropout({ rate: 0.5, name: 'drop' }).apply(x);
  x = tf.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2, useBias: true, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }), name: 'conv_b' }).apply(x);
  x = tf.layers.batchNormalization({ momentum: 0.9, epsilon: EPS, name: 'bn_b' }).apply(x);
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x);
  const out = tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), name: 'out' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const layer = (m: tf.LayersModel, name: string) => m.getLayer(name);
const values = (m: tf.LayersModel, name: string) => layer(m, name).getWeights().map((w) => Array.from(w.dataSync()));
const movingStats = (m: tf.LayersModel, name: string) => values(m, name).slice(-2) as [number[], number[]];

/**
 * The reference, with stock TF.js kernels and plain ops: the input of BN b for one batch, BN a
 * in training mode (the batch's statistics) or, when frozen, on its moving statistics; no dropout.
 */
function bnInputs(m: tf.LayersModel, x: tf.Tensor4D, frozenA: boolean): { a: tf.Tensor4D; b: tf.Tensor4D } {
  return tf.tidy(() => {
    const [kernelA] = layer(m, 'conv_a').getWeights();
    const [gamma, beta, movingMean, movingVariance] = layer(m, 'bn_a').getWeights();
    const [kernelB, biasB] = layer(m, 'conv_b').getWeights();
    const a = tf.conv2d(x, kernelA as tf.Tensor4D, 1, 'same');
    const { mean, variance } = frozenA ? { mean: movingMean!, variance: movingVariance! } : tf.moments(a, [0, 1, 2]);
    const normalized = tf.batchNorm(a, mean, variance, beta, gamma, EPS);
    const b = tf.add(tf.conv2d(tf.clipByValue(normalized, 0, 6) as tf.Tensor4D, kernelB as tf.Tensor4D, 2, 'valid'), biasB!) as tf.Tensor4D;
    return { a, b };
  });
}

/** Population mean and biased variance over batch, height and width. */
function stats(t: tf.Tensor4D): [number[], number[]] {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(t, [0, 1, 2]);
    return [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
  });
}

function expectClose(actual: number[], expected: number[], tolerance = 1e-4): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `[${i}] ${v} vs ${expected[i]}`).toBeLessThan(tolerance * (1 + Math.abs(expected[i]!))));
}

/** The layer's moving mean and variance against [mean, variance]. */
function expectStats(m: tf.LayersModel, name: string, [mean, variance]: [number[], number[]]): void {
  const [movingMean, movingVariance] = movingStats(m, name);
  expectClose(movingMean, mean);
  expectClose(movingVariance, variance);
}

describe('recalibrateBatchNorm', () => {
  let images: tf.Tensor4D;
  const data = () => tensorDataset(images.clone(), Array.from({ length: N }, (_, i) => i % 3), { classNames: ['a', 'b', 'c'] });

  beforeAll(async () => {
    await tf.setBackend('wasm');
    images = tf.randomUniform([N, 8, 8, 3], 0, 1, 'float32', 7);
  });
  afterAll(() => images.dispose());

  /** The reference on stock kernels (cpu), then the code under test on this library's (wasm). */
  async function reference<T>(fn: () => T): Promise<T> {
    restoreStockKernels();
    await tf.setBackend('cpu');
    try {
      return fn();
    } finally {
      registerKernels();
      await tf.setBackend('wasm');
    }
  }

  it('writes exact population statistics of a single pass, the layers in training mode and dropout off', async () => {
    const m = model();
    const expected = await reference(() => {
      const { a, b } = bnInputs(m, images, false);
      const out = { a: stats(a), b: stats(b) };
      tf.dispose([a, b]);
      return out;
    });
    const ds = data();
    const before = tf.memory().numTensors;
    const result = await recalibrateBatchNorm(m, ds, { batchSize: N });
    expect(tf.memory().numTensors).toBe(before);
    expect(result).toEqual({ layers: 2, images: N });
    expectStats(m, 'bn_a', expected.a);
    expectStats(m, 'bn_b', expected.b);
    m.dispose();
  });

  it('merges batches into the statistics of the whole pass, not an average of batch statistics', async () => {
    const m = model();
    const batchSize = 4;
    const order = permutation(N, seededRandom(5));
    const expected = await reference(() => {
      // BN a's input does not depend on the batches; BN b's does (BN a normalizes each batch with its own statistics).
      const as: tf.Tensor4D[] = [];
      const bs: tf.Tensor4D[] = [];
      for (let s = 0; s < N; s += batchSize) {
        const x = tf.gather(images, Array.from(order.subarray(s, s + batchSize))) as tf.Tensor4D;
        const { a, b } = bnInputs(m, x, false);
        as.push(a);
        bs.push(b);
        x.dispose();
      }
      const [a, b] = [tf.concat(as), tf.concat(bs)];
      const out = { a: stats(a), b: stats(b) };
      tf.dispose([...as, ...bs, a, b]);
      return out;
    });
    await recalibrateBatchNorm(m, data(), { batchSize, seed: 5 });
    expectStats(m, 'bn_a', expected.a);
    expectStats(m, 'bn_b', expected.b);
    m.dispose();
  });

  it('leaves a frozen BatchNorm layer as it is and runs it on its moving statistics', async () => {
    const m = model();
    const bnA = layer(m, 'bn_a');
    bnA.setWeights([tf.fill([4], 0.8), tf.fill([4], -0.1), tf.tensor1d([0.1, -0.2, 0.3, 0]), tf.tensor1d([0.5, 2, 1, 0.25])]);
    bnA.trainable = false;
    const frozenBefore = values(m, 'bn_a');
    const expected = await reference(() => {
      const { a, b } = bnInputs(m, images, true);
      const out = stats(b);
      tf.dispose([a, b]);
      return out;
    });
    expect(await recalibrateBatchNorm(m, data(), { batchSize: N })).toEqual({ layers: 1, images: N });
    expect(values(m, 'bn_a')).toEqual(frozenBefore);
    expectStats(m, 'bn_b', expected);
    // Without freezeBatchNormStats the frozen layer is recalibrated too.
    expect(await recalibrateBatchNorm(m, data(), { batchSize: N, freezeBatchNormStats: false })).toEqual({ layers: 2, images: N });
    expect(values(m, 'bn_a')).not.toEqual(frozenBefore);
    m.dispose();
  });

  it('normalizes over any axis, not only the last', async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const bn = tf.layers.batchNormalization({ axis: 1, epsilon: EPS, name: 'bn_rows' }).apply(input);
    const out = tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(bn)) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: out });
    const expected = await reference(() => tf.tidy(() => {
      const { mean, variance } = tf.moments(images, [0, 2, 3]);
      return [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
    }));
    expect(await recalibrateBatchNorm(m, data(), { batchSize: 4 })).toEqual({ layers: 1, images: N });
    expectStats(m, 'bn_rows', expected as [number[], number[]]);
    m.dispose();
  });

  it('does nothing without trainable BatchNorm layers, and checks its options', async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const out = tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
    const plain = tf.model({ inputs: input, outputs: out });
    expect(await recalibrateBatchNorm(plain, data())).toEqual({ layers: 0, images: 0 });
    await expect(recalibrateBatchNorm(plain, data(), { batchSize: 0 })).rejects.toThrow('batchSize must be an integer >= 1; received `batchSize=0`');
    await expect(recalibrateBatchNorm(plain, data(), { batch: 4 } as object)).rejects.toThrow("unknown recalibrateBatchNorm option 'batch'");
    plain.dispose();
  });
});
