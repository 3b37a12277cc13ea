import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../backend/useBackend.js';
import { tf } from '../tf.js';
import { fromPixels, pixelDataset } from './pixels.js';

beforeAll(async () => {
  await useBackend('wasm');
});

/** A 2×2 RGBA image, as ImageData would hold it. */
const image = (rgba: number[]) => ({ data: Uint8Array.from(rgba), width: 2, height: 2 });

describe('fromPixels', () => {
  const rgba = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 51, 102, 153, 0];

  it('keeps RGB in [0, 1] and drops alpha', async () => {
    const x = fromPixels(image(rgba), { size: [2, 2] });
    expect(x.shape).toEqual([2, 2, 3]);
    const expected = [0, 1, 2, 3].flatMap((p) => rgba.slice(p * 4, p * 4 + 3).map((v) => v / 255));
    Array.from(await x.data()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    x.dispose();
  });

  it('converts to luma with PIL weights', async () => {
    const x = fromPixels(image(rgba), { size: [2, 2], channels: 1 });
    const expected = [0, 1, 2, 3].map((p) => (0.299 * rgba[p * 4]! + 0.587 * rgba[p * 4 + 1]! + 0.114 * rgba[p * 4 + 2]!) / 255);
    Array.from(await x.data()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    x.dispose();
  });

  it('resizes: a uniform image stays uniform', async () => {
    const x = fromPixels(image(Array(16).fill(204)), { size: [5, 3], channels: 1 });
    expect(x.shape).toEqual([5, 3, 1]);
    for (const v of await x.data()) expect(v).toBeCloseTo(0.8, 5);
    x.dispose();
  });

  it('names a bad size or channel count', () => {
    expect(() => fromPixels(image(rgba), { size: [0, 2] })).toThrow('size must be an integer >= 1 or [height, width] of them; received `size=[0,2]`');
    expect(() => fromPixels(image(rgba), { size: [2, 2], channels: 2 as never })).toThrow('channels must be 1 or 3; received `channels=2`');
  });
});

describe('pixelDataset', () => {
  it('builds a dataset and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const data = pixelDataset([image(Array(16).fill(255)), image(Array(16).fill(0))], [1, 0], {
      size: [4, 4], channels: 1, classNames: ['dark', 'light'], mean: [0.5], std: [0.5],
    });
    const { x, y } = await data.batch([0, 1]);
    expect(x.shape).toEqual([2, 4, 4, 1]);
    const values = await x.data();
    expect(values[0]).toBeCloseTo(1, 6);
    expect(values[16]).toBeCloseTo(-1, 6);
    tf.dispose([x, y]);
    data.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
