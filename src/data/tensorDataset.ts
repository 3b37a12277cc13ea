import { InputError, received } from '../errors.js';
import { checkOptions, checkPerChannel, keysOf } from '../options/check.js';
import { tf } from '../tf.js';
import { type AugmentOptions, augmentBatch, checkAugment } from './augment.js';
import type { Batch, BatchOptions, Dataset } from './dataset.js';

/** Options of {@link tensorDataset}. */
export interface TensorDatasetOptions {
  /** Name of every class; labels index into it. Required. */
  classNames: readonly string[];
  /** Per-channel mean subtracted from the [0, 1] pixels (one value, or one per channel). Default [0]. */
  mean?: readonly number[];
  /** Per-channel std the pixels are divided by after the mean. Default [1]. */
  std?: readonly number[];
  /** Augmentation applied to training batches when the trainer asks (`augment: true`). Default none. */
  augment?: AugmentOptions;
}

/** A {@link Dataset} over images already in memory; `dispose()` frees its copy of them. */
export interface TensorDataset extends Dataset {
  dispose(): void;
}

const TENSOR_DATASET_OPTIONS = keysOf<TensorDatasetOptions>()({ classNames: true, mean: true, std: true, augment: true });

/**
 * A dataset over `images`, NHWC pixels in [0, 1] (e.g. stacked `tf.browser.fromPixels(...) / 255`),
 * with one class index per image. Batches are gathered, augmented and normalized on the active
 * backend. The dataset keeps its own reference to the images: dispose yours when you like, and
 * call `dispose()` on the dataset when done.
 *
 * @example
 * const data = tensorDataset(tf.randomUniform([8, 28, 28, 1]), [0, 1, 0, 1, 0, 1, 0, 1], { classNames: ['a', 'b'] });
 * await train(model, data, { epochs: 1, batchSize: 4 });
 * data.dispose();
 */
/** Its option names, for callers that take them with their own. */
export { TENSOR_DATASET_OPTIONS };

export function tensorDataset(images: tf.Tensor4D, labels: ArrayLike<number>, options: TensorDatasetOptions): TensorDataset {
  if (!(images instanceof tf.Tensor) || images.rank !== 4) {
    throw new InputError(`images must be a rank-4 tensor [N, height, width, channels]; received ${images instanceof tf.Tensor ? `shape [${images.shape}]` : received(images)}`);
  }
  const [n, height, width, channels] = images.shape;
  checkOptions(options, TENSOR_DATASET_OPTIONS, 'tensorDataset');
  const classNames = options?.classNames;
  if (!Array.isArray(classNames) || classNames.length === 0) {
    throw new InputError(`classNames must be a non-empty array of names; received \`classNames=${received(classNames)}\``);
  }
  if (labels == null || labels.length !== n) {
    throw new InputError(`labels must hold one class index per image (${n}); received ${labels == null ? received(labels) : `${labels.length} labels`}`);
  }
  const labelValues = Int32Array.from(labels);
  const bad = Array.prototype.findIndex.call(labels, (l: number) => !Number.isInteger(l) || l < 0 || l >= classNames.length);
  if (bad >= 0) {
    throw new InputError(`labels must be integers in [0, ${classNames.length - 1}] (one per class name); received ${received(labels[bad])} at index ${bad}`);
  }
  const mean = checkPerChannel('mean', options.mean ?? [0], channels);
  const std = checkPerChannel('std', options.std ?? [1], channels, { positive: true });
  const augment = checkAugment(options.augment);
  const kept = tf.keep(images.clone());

  return {
    length: n,
    classNames: [...classNames],
    inputShape: [height, width, channels],
    mean: mean.length === channels ? mean : Array(channels).fill(mean[0]),
    std: std.length === channels ? std : Array(channels).fill(std[0]),
    labels: () => labelValues.slice(),
    async batch(indices: ArrayLike<number>, batchOptions: BatchOptions = {}): Promise<Batch> {
      const picked = Int32Array.from(indices);
      const outside = picked.findIndex((i) => i < 0 || i >= n);
      if (outside >= 0) throw new RangeError(`tensorDataset.batch: index ${picked[outside]} out of range [0, ${n})`);
      const x = tf.tidy(() => {
        let pixels = tf.gather(kept, picked) as tf.Tensor4D;
        if (batchOptions.augment && augment) pixels = augmentBatch(pixels, augment, batchOptions.random ?? Math.random);
        return pixels.sub(tf.tensor1d([...mean])).div(tf.tensor1d([...std])) as tf.Tensor4D;
      });
      return { x, y: tf.tensor1d(picked.map((i) => labelValues[i]!), 'int32') };
    },
    dispose: () => kept.dispose(),
  };
}
