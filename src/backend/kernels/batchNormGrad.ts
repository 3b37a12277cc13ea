import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';
import { float32, sameShape, sizeOf } from './validate.js';

/**
 * Name of this library's kernel for the gradient of FusedBatchNorm with channels-last x and
 * rank-1 mean/variance/scale: outputs [dx, dmean, dvariance, dscale, doffset] in one pass.
 * With the attr `batchStatistics: true`, mean and variance are x's own (biased) batch
 * statistics, as in training, and dx includes their path back to x (a second pass).
 */
export const BATCH_NORM_GRAD = 'MobileNetV2BatchNormGrad';

interface BatchNormGradInputs {
  dy: TensorInfo;
  x: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
  scale?: TensorInfo;
}

/** Whether {@link batchNormGrad} takes these inputs: float32, non-empty, statistics of x's last dimension. */
export function batchNormGradSupports({ dy, x, mean, variance, scale }: BatchNormGradInputs): boolean {
  const channels = x.shape[x.shape.length - 1];
  const perChannel = [mean, variance, scale].every((t) => t == null || (t.shape.length === 1 && t.shape[0] === channels));
  // Empty x: stock's sums over nothing are 0 even where rsqrt(var + eps) is NaN.
  return x.shape.length >= 1 && channels! > 0 && sizeOf(x.shape) > 0 && perChannel && sameShape(dy.shape, x.shape) && float32(dy, x, mean, variance, scale);
}

interface BatchNormGradAttrs {
  varianceEpsilon: number;
  /** Whether mean and variance are x's batch statistics (dx then includes their gradient); default false. */
  batchStatistics?: boolean;
}

export const batchNormGrad: SimdKernel<BatchNormGradInputs, BatchNormGradAttrs> = {
  kernelName: BATCH_NORM_GRAD,
  run(heap, inputs, { varianceEpsilon, batchStatistics = false }) {
    if (!batchNormGradSupports(inputs) || typeof varianceEpsilon !== 'number' || typeof batchStatistics !== 'boolean') return null;
    const { dy, x, mean, variance, scale } = inputs;
    const channels = mean.shape[0]!;
    const rows = sizeOf(x.shape) / channels;
    return heap.run(
      [dy, x, mean, variance, scale ?? null],
      [x.shape, [channels], [channels], [channels], [channels]],
      (k, [dyPtr, xPtr, meanPtr, varPtr, scalePtr], [dx, dmean, dvar, dscale, doffset, scratch]) => {
        k.batchNormGrad({
          dy: dyPtr!, x: xPtr!, mean: meanPtr!, variance: varPtr!, scale: scalePtr!, epsilon: varianceEpsilon, rows, channels,
          dx: dx!, dmean: dmean!, dvariance: dvar!, dscale: dscale!, doffset: doffset!, scratch: scratch!, batchStatistics,
        });
      },
      [3 * channels] /* per channel: rsqrt(var + eps), −0.5·rsqrt³ and Σ (x − mean) */,
    );
  },
};
