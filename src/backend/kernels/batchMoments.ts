import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';
import { float32, sizeOf } from './validate.js';

/**
 * Name of this library's kernel for the per-channel mean and biased variance of a
 * channels-last tensor over all its leading axes (`tf.moments(x, [0, …, rank − 2])`):
 * outputs [mean, variance], each of shape [channels], in one pass over x.
 */
export const BATCH_MOMENTS = 'MobileNetV2BatchMoments';

/**
 * Whether {@link batchMoments} takes x: float32, rank ≥ 1, non-empty. Stock's mean of nothing
 * is 0 (it divides, then sums), a case the statistics of a real batch never have; the caller
 * runs `tf.moments` for it.
 */
export const batchMomentsSupports = (x: TensorInfo): boolean => x.shape.length >= 1 && sizeOf(x.shape) > 0 && float32(x);

export const batchMoments: SimdKernel<{ x: TensorInfo }> = {
  kernelName: BATCH_MOMENTS,
  run(heap, { x }) {
    if (!batchMomentsSupports(x)) return null;
    const channels = x.shape[x.shape.length - 1]!;
    const rows = sizeOf(x.shape) / channels;
    return heap.run([x], [[channels], [channels]], (k, [xPtr], [meanPtr, varPtr]) => k.batchMoments(xPtr!, meanPtr!, varPtr!, { rows, channels }));
  },
};
