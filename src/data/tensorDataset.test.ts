import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../backend/useBackend.js';
import { tf } from '../tf.js';
import { tensorDataset } from './tensorDataset.js';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('tensorDataset', () => {
  const pixels = Float32Array.from({ length: 3 * 2 * 2 * 3 }, (_, i) => (i % 7) / 7);
  const options = { classNames: ['a', 'b'], mean: [0.5, 0.25, 0], std: [0.5, 2, 1] };

  it('gathers and normalizes per channel, labels as int32', async () => {
    const images = tf.tensor4d(pixels, [3, 2, 2, 3]);
    const data = tensorDataset(images, [1, 0, 1], options);
    images.dispose(); // the dataset keeps its own reference
    expect(data).toMatchObject({ length: 3, inputShape: [2, 2, 3], classNames: ['a', 'b'] });
    const { x, y } = await data.batch([2, 0]);
    const expected = [2, 0].flatMap((i) => Array.from(pixels.subarray(i * 12, i * 12 + 12), (v, k) => (v - options.mean[k % 3]!) / options.std[k % 3]!));
    expect(x.shape).toEqual([2, 2, 2, 3]);
    Array.from(await x.data()).forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 6));
    expect(y.dtype).toBe('int32');
    expect(Array.from(await y.data())).toEqual([1, 1]);
    tf.dispose([x, y]);
    data.dispose();
  });

  it('leaks no tensors across batches', async () => {
    const images = tf.tensor4d(pixels, [3, 2, 2, 3]);
    const data = tensorDataset(images, [1, 0, 1], { ...options, augment: { flip: true, shift: 0.25 } });
    images.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const { x, y } = await data.batch([0, 1, 2], { augment: true, random: () => 0.9 });
      tf.dispose([x, y]);
    }
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
    expect(tf.memory().numTensors).toBe(before - 1);
  });

  it('names the bad argument', () => {
    const images = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
    expect(() => tensorDataset(images, [0], { classNames: ['a'] })).toThrow('labels must hold one class index per image (2); received 1 labels');
    expect(() => tensorDataset(images, [0, 2], { classNames: ['a', 'b'] })).toThrow('labels must be integers in [0, 1] (one per class name); received 2 at index 1');
    expect(() => tensorDataset(images, [0, 0], { classNames: [] })).toThrow('classNames must be a non-empty array');
    expect(() => tensorDataset(images, [0, 0], { classNames: ['a'], std: [0] })).toThrow('std must be 1 or 1 finite numbers (one per channel), each > 0; received `std=[0]`');
    expect(() => tensorDataset(tf.zeros([2, 2]) as never, [0, 0], { classNames: ['a'] })).toThrow('images must be a rank-4 tensor');
    images.dispose();
  });
});
