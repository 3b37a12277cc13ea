import { beforeAll, describe, expect, it } from 'vitest';
import { tinyModel } from '../../test/tinyModel.js';
import { mobileNetV2Mnist } from '../models/mnist.js';
import { tf } from '../tf.js';
import { inferBatches } from './inferBatches.js';

beforeAll(() => tf.setBackend('cpu'));

// Both engines: TF.js (any model) and onnxruntime (a MobileNetV2 of this library), each
// taking [2, 28, 28, 1] batches to [2, 10] outputs.
describe.each([
  ['tfjs', () => tinyModel(1)],
  ['onnxruntime', () => mobileNetV2Mnist({ seed: 1 })],
] as const)('inferBatches (engine %s)', (engine, build) => {
  it('hands back every output in order, releases every batch, and frees its plan', async () => {
    const model = build();
    const xs = [0, 1, 2, 3, 4].map((i) => tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', i));
    const used: number[] = [];
    const released: number[] = [];
    // The engine's first use (its session) is not part of what the loop leaves.
    await inferBatches(model, { count: 1, load: async () => xs[0]!.clone(), input: (x) => x, use: () => {}, release: (x) => x.dispose() }, { workers: 1, engine });
    const before = tf.memory().numTensors;
    for (const prefetch of [false, true]) {
      used.length = 0;
      released.length = 0;
      await inferBatches(model, {
        count: xs.length,
        load: async (i) => ({ i, x: xs[i]!.clone() }),
        input: (b) => b.x,
        use: (b, y, i) => {
          expect(b.i).toBe(i);
          expect(y.shape).toEqual([2, 10]);
          used.push(i);
        },
        release: (b) => {
          released.push(b.i);
          b.x.dispose();
        },
      }, { workers: 1, prefetch, engine });
      expect(used).toEqual([0, 1, 2, 3, 4]);
      expect(released.sort()).toEqual([0, 1, 2, 3, 4]);
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose(xs);
    model.dispose();
  });

  it('stops at a failing load or use with its error, releasing what was loaded', async () => {
    const model = build();
    const before = tf.memory().numTensors;
    const loaded = new Set<tf.Tensor>();
    const source = (failAt: 'load' | 'use') => ({
      count: 6,
      load: async (i: number) => {
        if (failAt === 'load' && i === 3) throw new Error('batch 3 is unreadable');
        const x = tf.zeros([1, 28, 28, 1]);
        loaded.add(x);
        return x;
      },
      input: (x: tf.Tensor) => x,
      use: (_: tf.Tensor, __: tf.Tensor, i: number) => {
        if (failAt === 'use' && i === 1) throw new Error('cannot use batch 1');
      },
      release: (x: tf.Tensor) => x.dispose(),
    });
    await expect(inferBatches(model, source('load'), { workers: 1, prefetch: true, engine })).rejects.toThrow('batch 3 is unreadable');
    await expect(inferBatches(model, source('use'), { workers: 1, prefetch: true, engine })).rejects.toThrow('cannot use batch 1');
    expect([...loaded].every((x) => x.isDisposed)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
