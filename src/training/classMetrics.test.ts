import { expect, it } from 'vitest';
import { classMetrics } from './classMetrics.js';

it('gives precision and recall per class, null where undefined', () => {
  // Rows: true class; columns: predicted. 'bird' is never in the data but predicted once;
  // 'fish' is in the data but never predicted.
  const confusion = [
    [5, 1, 1, 0],
    [2, 6, 0, 0],
    [0, 0, 0, 0],
    [1, 0, 0, 0],
  ];
  const metrics = classMetrics(confusion, ['cat', 'dog', 'bird', 'fish']);
  expect(metrics.map((m) => [m.className, m.support, m.predicted, m.correct])).toEqual([
    ['cat', 7, 8, 5], ['dog', 8, 7, 6], ['bird', 0, 1, 0], ['fish', 1, 0, 0],
  ]);
  expect(metrics.map((m) => m.precision)).toEqual([5 / 8, 6 / 7, 0, null]);
  expect(metrics.map((m) => m.recall)).toEqual([5 / 7, 6 / 8, null, 0]);
});
