import { describe, expect, it } from 'vitest';
import { stratifiedSplit } from './split.js';

const labelsOf = (counts: number[]) => Int32Array.from(counts.flatMap((n, label) => new Array<number>(n).fill(label)));

describe('stratifiedSplit', () => {
  it('takes the fraction from every class, keeps each class on both sides, and covers every index once', () => {
    const labels = labelsOf([50, 20, 3, 2]);
    const { train, val } = stratifiedSplit(labels, 0.1, 7);
    const count = (indices: Int32Array, label: number) => Array.from(indices).filter((i) => labels[i] === label).length;
    expect([0, 1, 2, 3].map((c) => count(val, c))).toEqual([5, 2, 1, 1]);
    expect([0, 1, 2, 3].map((c) => count(train, c))).toEqual([45, 18, 2, 1]);
    expect([...train, ...val].sort((a, b) => a - b)).toEqual(Array.from(labels, (_, i) => i));
    expect(Array.from(train)).toEqual([...train].sort((a, b) => a - b));
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const labels = labelsOf([30, 30]);
    const a = stratifiedSplit(labels, 0.2, 1);
    expect(stratifiedSplit(labels, 0.2, 1)).toEqual(a);
    expect(Array.from(stratifiedSplit(labels, 0.2, 2).val)).not.toEqual(Array.from(a.val));
  });

  it('puts everything in train for fraction 0 and rejects fractions outside [0, 1)', () => {
    const labels = labelsOf([3, 3]);
    expect(stratifiedSplit(labels, 0, 0).val.length).toBe(0);
    expect(() => stratifiedSplit(labels, 1, 0)).toThrow('valFraction must be a number in [0, 1); received `valFraction=1`');
    expect(() => stratifiedSplit(labels, Number.NaN, 0)).toThrow('valFraction must be a number in [0, 1)');
  });
});
