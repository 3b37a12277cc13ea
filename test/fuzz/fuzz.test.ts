/**
 * A bounded, seeded run of the randomized differential tests (fuzz.ts): every kernel and
 * gradient of this library against TF.js's stock cpu kernels, on both backends, with heap
 * checks. `npm run fuzz -- --cases N --seed S` runs longer streams.
 */
import { expect, it } from 'vitest';
import { fuzz } from './fuzz.js';

it.each(['cpu', 'wasm'] as const)('4,000 random cases on %s match stock, with no heap damage', async (backend) => {
  const report = await fuzz({ cases: 4000, seed: 8, backends: [backend] });
  expect(report.heapDamage).toEqual([]);
  expect(report.failures).toEqual([]);
  // Every generator ran (so a broken one cannot pass by producing nothing).
  expect(Object.keys(report.kinds).length).toBeGreaterThan(30);
});
