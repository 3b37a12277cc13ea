import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';
import { float32, sameShape, sizeOf } from './validate.js';

/**
 * Name of this library's kernel for both moving statistics of a BatchNormalization layer in
 * training: outputs [movingMean', movingVariance'], each `moving − (moving − batch)·(1 − momentum)`
 * in tfjs-layers' order of operations, instead of three ops and two temporaries per statistic.
 */
export const MOVING_AVERAGES = 'MobileNetV2MovingAverages';

interface MovingAveragesInputs {
  movingMean: TensorInfo;
  movingVariance: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
}

/** Whether {@link movingAverages} takes these: float32, each batch statistic the shape of its moving one. */
export function movingAveragesSupports({ movingMean, movingVariance, mean, variance }: MovingAveragesInputs, momentum: unknown): boolean {
  return (
    typeof momentum === 'number' && float32(movingMean, movingVariance, mean, variance) &&
    sameShape(movingMean.shape, mean.shape) && sameShape(movingVariance.shape, variance.shape)
  );
}

export const movingAverages: SimdKernel<MovingAveragesInputs, { momentum: number }> = {
  kernelName: MOVING_AVERAGES,
  run(heap, inputs, { momentum }) {
    if (!movingAveragesSupports(inputs, momentum)) return null;
    const { movingMean, movingVariance, mean, variance } = inputs;
    // 1 − momentum in double, rounded to float32 on the way in: the scalar tf.mul would make.
    const decay = 1 - momentum;
    return heap.run([movingMean, movingVariance, mean, variance], [movingMean.shape, movingVariance.shape], (k, [mm, mv, m, v], [outMean, outVar]) => {
      k.movingAverage(mm!, m!, outMean!, sizeOf(movingMean.shape), decay);
      k.movingAverage(mv!, v!, outVar!, sizeOf(movingVariance.shape), decay);
    });
  },
};
