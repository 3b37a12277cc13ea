import { describe, expect, it } from 'vitest';
import { makeDivisible } from './makeDivisible.js';

describe('makeDivisible', () => {
  // Expected values printed by torchvision.models._utils._make_divisible (PyTorch 1.13).
  it.each([
    [32 * 0.35, 8, 16],
    [16 * 0.56, 8, 16], // Keras gives 8 here
    [24 * 0.5, 8, 16],
    [16 * 0.35, 8, 8],
    [1280 * 1.4, 8, 1792],
    [96 * 0.75, 8, 72],
    [64 * 0.35, 8, 24],
    [3, 8, 8],
    [44, 8, 48],
    [37, 8, 40],
    [100, 16, 96],
    [250, 64, 256],
    [7, 4, 8],
    [0.5, 8, 8],
  ])('makeDivisible(%f, %i) = %i', (value, divisor, expected) => {
    expect(makeDivisible(value, divisor)).toBe(expected);
  });

  it('respects minValue', () => {
    expect(makeDivisible(3, 8, 16)).toBe(16);
  });
});
