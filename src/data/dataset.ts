import type { tf } from '../tf.js';

/** One batch: normalized NHWC images and int32 class indices. The receiver disposes both. */
export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

/**
 * A labelled image dataset as the trainer sees it. MNIST (in memory) and image folders (decoded
 * on demand) both implement it, so one trainer serves both.
 */
export interface Dataset {
  /** Number of examples. */
  readonly length: number;
  readonly classNames: readonly string[];
  /** [height, width, channels] of one example as the model sees it. */
  readonly inputShape: readonly [number, number, number];
  /** Per-channel normalization applied to [0, 1] pixels, (x − mean) / std (torchvision's convention). */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Class index of every example, e.g. for stratified splits. */
  labels(): Int32Array;
  /**
   * Loads the examples at `indices` as one batch. It is async so that decoding from disk can
   * overlap with training: the trainer asks for the next batch before it trains on this one.
   */
  batch(indices: ArrayLike<number>, options?: BatchOptions): Promise<Batch>;
  /**
   * The same batch as plain values, for a dataset that builds it outside TF.js anyway (MNIST): an
   * inference engine outside TF.js (onnxruntime) then reads it without a copy into TF.js and back.
   * Optional.
   */
  hostBatch?(indices: ArrayLike<number>, options?: BatchOptions): Promise<HostExamples>;
}

/** A batch as plain values: NHWC images and class indices. */
export interface HostExamples {
  x: { data: Float32Array; shape: [number, number, number, number] };
  y: Int32Array;
}

export interface BatchOptions {
  /** Apply the dataset's training augmentation, if it has one. Default false. */
  augment?: boolean;
  /** Random source in [0, 1) for augmentation, so that seeded runs repeat. Default Math.random. */
  random?: () => number;
}
