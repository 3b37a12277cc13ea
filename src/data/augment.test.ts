import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { augmentBatch, checkAugment } from './augment.js';

/** A 1×4×5×1 image whose pixel (r, c) is 10r + c, as nested arrays for easy indexing. */
const grid = () => tf.tensor4d(Array.from({ length: 20 }, (_, i) => 10 * Math.floor(i / 5) + (i % 5)), [1, 4, 5, 1]);
const rows = (t: tf.Tensor4D) => (t.arraySync()[0] as number[][][]).map((r) => r.map((p) => Math.round(p[0] * 1000) / 1000));

describe('augmentBatch', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('flips horizontally', () => {
    const x = grid();
    const y = augmentBatch(x, { flip: true }, () => 0.1);
    expect(rows(y)).toEqual(rows(x).map((r) => [...r].reverse()));
    tf.dispose([x, y]);
  });

  it('shifts by whole pixels and fills with zeros', () => {
    const x = grid();
    // random() = 1 → shift = +round(0.25·4) = 1 row down, +round(0.25·5) = 1 column right.
    const y = augmentBatch(x, { shift: 0.25 }, () => 1 - 1e-12);
    const expected = rows(x).map((_, r) => rows(x)[r].map((_, c) => (r >= 1 && c >= 1 ? rows(x)[r - 1][c - 1] : 0)));
    expect(rows(y)).toEqual(expected);
    tf.dispose([x, y]);
  });

  it('a full-size crop is the identity, and a small crop resamples a sub-window', () => {
    const x = grid();
    const same = augmentBatch(x, { crop: { scale: [1, 1], ratio: [1.25, 1.25] } }, () => 0.5);
    expect(rows(same)).toEqual(rows(x));
    // area 0.2·20 = 4 px at ratio 1 → a 2×2 window; random 0 puts it at the top-left.
    const small = augmentBatch(x, { crop: { scale: [0.2, 0.2], ratio: [1, 1] } }, () => 0);
    const r = rows(small);
    expect([r[0][0], r[0][4], r[3][0], r[3][4]]).toEqual([0, 1, 10, 11]);
    tf.dispose([x, same, small]);
  });

  it('checkAugment returns null when nothing is on and rejects bad values', () => {
    expect(checkAugment(undefined)).toBeNull();
    expect(checkAugment({ flip: false, shift: 0 })).toBeNull();
    expect(() => checkAugment({ shift: 0.7 })).toThrow('augment.shift must be a fraction in [0, 0.5); received `shift=0.7`');
    expect(() => checkAugment({ crop: { scale: [0.9, 0.1] } })).toThrow('augment.crop.scale must be [low, high]');
  });
});
