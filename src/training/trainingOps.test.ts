import { afterAll, describe, expect, it } from 'vitest';
import { restoreStockKernels, registerKernels } from '../backend/registerKernels.js';
import { tf } from '../tf.js';
import { seededRandom } from './random.js';
import { batchNormWithBatchStatistics, channelMoments } from './trainingOps.js';

afterAll(async () => {
  registerKernels();
  await tf.setBackend('cpu');
});

/** Per-channel mean and biased variance in float64 of channels-last values. */
function moments64(values: Float32Array, channels: number): { mean: number[]; variance: number[] } {
  const rows = values.length / channels;
  const mean = Array.from({ length: channels }, (_, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += values[r * channels + c]!;
    return s / rows;
  });
  const variance = mean.map((m, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += (values[r * channels + c]! - m) ** 2;
    return s / rows;
  });
  return { mean, variance };
}

/** NaN and infinities exactly, finite values up to float32 rounding of sums in another order. */
function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    if (Number.isFinite(e)) expect(Math.abs(a - e)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(e)));
    else expect(a).toBe(e);
  }
}

const worst = (a: ArrayLike<number>, b: readonly number[]) => Math.max(...b.map((v, i) => Math.abs(a[i]! - v)));

/** tf.moments with TF.js's own cpu kernels, the reference (stock wasm's Mean overflows where cpu's does not). */
async function stockMoments(x: tf.Tensor): Promise<{ mean: Float32Array; variance: Float32Array }> {
  const backend = tf.getBackend();
  restoreStockKernels();
  await tf.setBackend('cpu');
  try {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(tf.tensor(x.dataSync(), x.shape), Array.from({ length: x.rank - 1 }, (_, i) => i));
      return { mean: mean.dataSync() as Float32Array, variance: variance.dataSync() as Float32Array };
    });
  } finally {
    registerKernels();
    await tf.setBackend(backend);
  }
}

describe.each(['wasm', 'cpu'] as const)('channelMoments on %s', (backend) => {
  it('is within float32 rounding of float64 far from 0 (≈ 1e3 ± 1), over many row tiles, for 3 and 13 channels', async () => {
    await tf.setBackend(backend);
    for (const shape of [[4, 50, 50, 3], [3, 17, 13, 13]]) {
      const random = seededRandom(shape[3]!);
      const values = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => 1000 + 2 * random() - 1);
      const x = tf.tensor(values, shape);
      const before = tf.memory().numTensors;
      const { mean, variance } = channelMoments(x);
      expect(tf.memory().numTensors).toBe(before + 2);
      expect(mean.shape).toEqual([shape[3]]);
      const exact = moments64(values, shape[3]!);
      const stock = await stockMoments(x);
      // Variance ≈ 1/3; float32 spacing at 1e3 is 6e-5, so E[x²] − E[x]² would be off by ~100.
      expect(worst(variance.dataSync(), exact.variance)).toBeLessThan(2e-5);
      expect(worst(mean.dataSync(), exact.mean)).toBeLessThan(6.2e-5); // one float32 spacing at 1e3
      // And no worse than stock moments, beyond float32 rounding of a value of 1/3.
      expect(worst(variance.dataSync(), exact.variance)).toBeLessThanOrEqual(worst(stock.variance, exact.variance) + 1e-6);
      tf.dispose([x, mean, variance]);
    }
  });

  it('matches stock moments on one row, on empty input, and with NaN and infinities', async () => {
    await tf.setBackend(backend);
    const inputs = [
      tf.tensor2d([[1.5, -2, 0]]),
      tf.tensor2d([], [0, 3]),
      tf.tensor2d([[1, Number.NaN, Infinity, 2, Infinity], [3, 4, 5, -Infinity, 1], [-0, 0, Infinity, 1, 2]]),
      tf.tensor3d([[[Infinity, 1, 2, 3, 4, 5]], [[1, 2, 3, 4, 5, 6]]]),
      tf.tensor2d([[3e38, -3e38, 3e38], [-3e38, 3e38, 3e38]]), // (x − mean)² overflows
    ];
    for (const x of inputs) {
      const { mean, variance } = channelMoments(x);
      const stock = await stockMoments(x);
      expectSame(mean.dataSync(), stock.mean);
      expectSame(variance.dataSync(), stock.variance);
      tf.dispose([x, mean, variance]);
    }
  });
});

describe.each(['wasm', 'cpu'] as const)('the BatchNorm gradient through the batch statistics on %s', (backend) => {
  // Two rows of close values (σ ≈ 0.006 against eps = 1e-5): dx is what is left when terms of
  // size dy·γ/σ cancel, so the mean's float32 rounding shows. Against float64, ours must be as
  // accurate as stock's gradient of moments + batchNorm (it once left out the term that
  // corrects for that rounding and was twice as far off).
  it('is no further from float64 than stock where the channel values are close', async () => {
    await tf.setBackend(backend);
    const random = seededRandom(11);
    const [rows, channels, eps, trials] = [2, 4, 1e-5, 120];
    let ours = 0;
    let stock = 0;
    for (let trial = 0; trial < trials; trial++) {
      const base = 2 * random() - 1;
      const xs = Float32Array.from({ length: rows * channels }, () => base + (random() - 0.5) * 0.02);
      const gs = Float32Array.from({ length: channels }, () => 2 * random() - 1);
      const dys = Float32Array.from({ length: rows * channels }, () => 2 * random() - 1);
      // dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) in float64.
      const exact = new Array<number>(rows * channels).fill(0);
      for (let c = 0; c < channels; c++) {
        const x = [xs[c]!, xs[channels + c]!];
        const dy = [dys[c]!, dys[channels + c]!];
        const m = (x[0]! + x[1]!) / 2;
        const s = Math.sqrt(((x[0]! - m) ** 2 + (x[1]! - m) ** 2) / 2 + eps);
        const xh = x.map((v) => (v - m) / s);
        const mdy = (dy[0]! + dy[1]!) / 2;
        const mdyx = (dy[0]! * xh[0]! + dy[1]! * xh[1]!) / 2;
        for (let r = 0; r < rows; r++) exact[r * channels + c] = (gs[c]! / s) * (dy[r]! - mdy - xh[r]! * mdyx);
      }
      const [ourDx, stockDx] = tf.tidy(() => {
        const x = tf.tensor(xs, [rows, channels]);
        const gamma = tf.tensor(gs, [channels]);
        const dy = tf.tensor(dys, [rows, channels]);
        const viaKernels = tf.grad((t: tf.Tensor) => batchNormWithBatchStatistics(t, gamma, undefined, eps).y)(x, dy);
        const viaStock = tf.grad((t: tf.Tensor) => {
          const { mean, variance } = tf.moments(t, [0]);
          return tf.batchNorm(t, mean, variance, tf.zeros([channels]), gamma, eps); // stock's gradient needs an offset
        })(x, dy);
        return [viaKernels.dataSync(), viaStock.dataSync()];
      });
      ours += worst(ourDx!, exact);
      stock += worst(stockDx!, exact);
    }
    expect(ours).toBeLessThanOrEqual(stock * 1.1);
  });
});
