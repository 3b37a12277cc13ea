import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';

/**
 * Name of this library's kernel for the gradient of FusedBatchNorm with channels-last x and
 * rank-1 mean/variance/scale: outputs [dx, dmean, dvariance, dscale, doffset] in one pass.
 */
export const BATCH_NORM_GRAD = 'MobileNetV2BatchNormGrad';

export const batchNormGrad: SimdKernel<
  { dy: TensorInfo; x: TensorInfo; mean: TensorInfo; variance: TensorInfo; scale?: TensorInfo },
  { varianceEpsilon: number }
> = {
  kernelName: BATCH_NORM_GRAD,
  run(heap, { dy, x, mean, variance, scale }, { varianceEpsilon }) {
    const channels = mean.shape[0]!;
    const rows = x.shape.reduce((a, b) => a * b, 1) / channels;
    return heap.run(
      [dy, x, mean, variance, scale ?? null],
      [x.shape, [channels], [channels], [channels], [channels]],
      (k, [dyPtr, xPtr, meanPtr, varPtr, scalePtr], [dx, dmean, dvar, dscale, doffset]) => {
        k.batch_norm_grad(
          dyPtr!, xPtr!, meanPtr!, varPtr!, scalePtr!, varianceEpsilon, rows, channels, dx!, dmean!, dvar!, dscale!, doffset!,
        );
      },
    );
  },
};
