/**
 * TF.js's own test suite with this library's kernels registered: no spec that passes with the
 * stock kernels may fail, except the ones accepted.ts lists with a reason.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCEPTED_DIFFERENCES, LIBRARY_FIXES } from './accepted.js';
import { type Comparison, formatComparison, runConformance } from './conformance.js';

let comparisons: Comparison[];
beforeAll(async () => {
  comparisons = await runConformance();
  for (const c of comparisons) console.log(formatComparison(c));
}, 300_000);

describe('tfjs-core test suite', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: no spec that passes stock fails with the library's kernels`, () => {
      const c = comparisons.find((x) => x.backend === backend)!;
      expect(c.stockPassed).toBeGreaterThan(3500); // the suite ran at all
      const accepted = new Set(ACCEPTED_DIFFERENCES.map((a) => a.spec));
      expect(c.regressions.filter((r) => !accepted.has(r.spec))).toEqual([]);
      expect(c.suiteErrors).toEqual([]);
    });
  }

  it('wasm: the specs the library makes pass keep passing', () => {
    const fixes = new Set(comparisons.find((x) => x.backend === 'wasm')!.fixes);
    expect(LIBRARY_FIXES.filter((spec) => !fixes.has(spec))).toEqual([]);
  });
});
