import { beforeAll, describe, expect, it } from 'vitest';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { randomizeBatchNorm } from '../../test/randomBatchNorm.js';
import { tf } from '../tf.js';
import { embed } from './embed.js';

// PyTorch parity of the features (α=1, 1280-d) is in test/pretrained.test.ts; here: widths, heads, leaks.
describe('embed', () => {
  beforeAll(() => tf.setBackend('cpu'));

  it("returns the last conv's channels, pooled, with or without the top, and leaks nothing", async () => {
    const table: [number, number, number, number][] = [[1, 16, 1, 1], [6, 24, 2, 2]];
    const options = { alpha: 0.5, inputShape: [32, 32, 3] as [number, number, number], invertedResidualSetting: table, lastChannels: 40, seed: 3 };
    const withTop = mobileNetV2({ ...options, numClasses: 7 });
    const noTop = mobileNetV2({ ...options, includeTop: false });
    const pooled = mobileNetV2({ ...options, includeTop: false, pooling: 'avg' });
    // Non-trivial BatchNorm statistics (the same in the three), which embed folds into the convs.
    for (const model of [withTop, noTop, pooled]) randomizeBatchNorm(model, 4);
    const x = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const results = [];
    for (let i = 0; i < 3; i++) {
      for (const model of [withTop, noTop, pooled]) {
        const f = embed(model, x);
        expect(f.shape).toEqual([3, 40]);
        results.push(await f.data());
        f.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    }
    // The same seed builds the same weights: the three ways to the features agree.
    const [a, b, c] = results;
    b.forEach((v, i) => expect(Math.abs(v - a[i])).toBeLessThan(1e-5));
    c.forEach((v, i) => expect(Math.abs(v - a[i])).toBeLessThan(1e-5));
    // The mean over H, W of the last activation, computed directly.
    const relu = tf.model({ inputs: withTop.inputs, outputs: withTop.getLayer('out_relu').output as tf.SymbolicTensor });
    const direct = tf.tidy(() => (relu.predict(x) as tf.Tensor4D).mean([1, 2]));
    (await direct.data()).forEach((v, i) => expect(Math.abs(v - a[i])).toBeLessThan(1e-5));
    direct.dispose();
    x.dispose();
    [withTop, noTop, pooled].forEach((m) => m.dispose());
  });

  it('refuses a non-4-D input in one line', () => {
    const model = mobileNetV2({ inputShape: [32, 32, 3], invertedResidualSetting: [[1, 16, 1, 1]], lastChannels: 8, numClasses: 2 });
    const x = tf.zeros([32, 32, 3]);
    expect(() => embed(model, x as unknown as tf.Tensor4D)).toThrow('images must be a 4-D tensor [N, height, width, channels]; received shape [32, 32, 3]');
    x.dispose();
    model.dispose();
  });
});
