import { describe, expect, it } from 'vitest';
import { deriveSeed, permutation, seededRandom } from './random.js';

describe('seeded randomness', () => {
  it('repeats a sequence for a seed and differs across seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('shuffles into a permutation, the same one for the same seed and epoch', () => {
    const p = permutation(1000, seededRandom(deriveSeed(1, 3, 1)));
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, seededRandom(deriveSeed(1, 3, 1)))).toEqual(p);
    expect(permutation(1000, seededRandom(deriveSeed(1, 4, 1)))).not.toEqual(p);
    expect(new Set([deriveSeed(1, 1), deriveSeed(1, 2), deriveSeed(2, 1), deriveSeed(1, 1, 1)]).size).toBe(4);
  });

  it('is roughly uniform', () => {
    const random = seededRandom(7);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 100000; i++) bins[Math.floor(random() * 10)]++;
    for (const count of bins) expect(Math.abs(count - 10000)).toBeLessThan(400);
  });
});
