/** Precision and recall of one class, from a confusion matrix. */
export interface ClassMetrics {
  className: string;
  /** Examples of this class (its row's sum). */
  support: number;
  /** Examples predicted as this class (its column's sum). */
  predicted: number;
  /** Examples of this class predicted as it. */
  correct: number;
  /** correct / predicted; null when nothing was predicted as this class. */
  precision: number | null;
  /** correct / support; null when the data has no example of this class. */
  recall: number | null;
}

/**
 * Per-class precision and recall of confusion[label][predicted], in class order. A class that
 * was never predicted has precision null rather than 0 (scikit-learn's `zero_division` choice
 * left to the reader), and one absent from the data has recall null.
 *
 * @example
 * classMetrics([[8, 2], [1, 9]], ['cat', 'dog'])[0]; // { className: 'cat', support: 10, predicted: 9, correct: 8, precision: 0.888…, recall: 0.8 }
 */
export function classMetrics(confusion: readonly (readonly number[])[], classNames: readonly string[]): ClassMetrics[] {
  return classNames.map((className, c) => {
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    const correct = confusion[c]![c]!;
    return {
      className, support, predicted, correct,
      precision: predicted > 0 ? correct / predicted : null,
      recall: support > 0 ? correct / support : null,
    };
  });
}
