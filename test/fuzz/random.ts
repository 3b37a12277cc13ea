import { seededRandom } from '../../src/training/random.js';

export type DType = 'float32' | 'int32' | 'bool';

/** Draws of every kind the case generators need, from one seeded stream. */
export class Rng {
  private readonly next: () => number;

  /**
   * `wasm`: cases for the wasm backend, where stock kernels (XNNPACK convs among them) read or
   * write outside the heap for some empty shapes and for direct kernel calls whose shapes
   * disagree: no dimension is 0 and direct calls keep consistent shapes there.
   */
  constructor(seed: number, readonly wasm = false) {
    this.next = seededRandom(seed);
  }

  float(): number {
    return this.next();
  }

  /** A whole number in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A dimension: mostly 1–`max`, sometimes exactly 1, rarely 0 when `empty` allows it. */
  dim(max: number, empty = true): number {
    if (empty && !this.wasm && this.chance(0.04)) return 0;
    if (this.chance(0.2)) return 1;
    return this.int(1, max);
  }

  shape(rank: number, max: number, empty = true): number[] {
    return Array.from({ length: rank }, () => this.dim(max, empty));
  }

  /**
   * Values for a tensor of `size` elements: uniform in [−2, 2] (int32: −5..5, bool: 0/1), and,
   * when `special`, some NaN, ±Infinity, −0 and +0 mixed in.
   */
  values(size: number, dtype: DType, special: boolean): number[] {
    const specials = [Number.NaN, Infinity, -Infinity, -0, 0];
    return Array.from({ length: size }, () => {
      if (dtype === 'bool') return this.int(0, 1);
      if (dtype === 'int32') return this.int(-5, 5);
      if (special && this.chance(0.08)) return this.pick(specials);
      return Math.fround(this.float() * 4 - 2);
    });
  }
}
