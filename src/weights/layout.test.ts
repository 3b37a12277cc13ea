import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { permute } from './layout.js';

describe('permute', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([
    [[2, 3, 4, 5], [2, 3, 1, 0]], // OIHW → HWIO
    [[5, 4, 2, 3], [3, 2, 0, 1]], // HWIO → OIHW
    [[6, 2, 3, 3], [2, 3, 0, 1]], // depthwise [C, M, H, W] ↔ [H, W, C, M]
    [[7, 3], [1, 0]], // Linear ↔ Dense
    [[4], [0]],
    [[2, 1, 3], [1, 2, 0]],
  ])('matches tf.transpose for shape %j, perm %j', (shape, perm) => {
    const size = shape.reduce((a, d) => a * d, 1);
    const data = Float32Array.from({ length: size }, (_, i) => i * 0.5 - 3);
    const expected = tf.tidy(() => tf.transpose(tf.tensor(data, shape), perm).dataSync());
    expect(Array.from(permute(data, shape, perm))).toEqual(Array.from(expected));
  });

  it('rejects a perm that is not a permutation', () => {
    expect(() => permute(new Float32Array(4), [2, 2], [0, 0])).toThrow(/not a permutation/);
  });
});
