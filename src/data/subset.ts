import type { Batch, BatchOptions, Dataset } from './dataset.js';

/**
 * A view of `dataset` restricted to `indices` (e.g. one side of {@link stratifiedSplit}).
 * Nothing is copied: batches are loaded from the parent on demand.
 *
 * @example
 * const { train, val } = stratifiedSplit(folder.labels(), 0.1, 0);
 * const trainSet = subset(folder, train);
 */
export function subset(dataset: Dataset, indices: ArrayLike<number>): Dataset {
  const map = Int32Array.from(indices);
  const parentLabels = dataset.labels();
  const labels = map.map((i) => parentLabels[i]);
  return {
    length: map.length,
    classNames: dataset.classNames,
    inputShape: dataset.inputShape,
    mean: dataset.mean,
    std: dataset.std,
    labels: () => labels.slice(),
    batch(batchIndices: ArrayLike<number>, options?: BatchOptions): Promise<Batch> {
      return dataset.batch(Array.from(batchIndices, (i) => map[i]), options);
    },
    ...(dataset.hostBatch && {
      hostBatch: (batchIndices: ArrayLike<number>, options?: BatchOptions) => dataset.hostBatch!(Array.from(batchIndices, (i) => map[i]!), options),
    }),
  };
}
