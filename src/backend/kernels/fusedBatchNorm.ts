import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';
import { float32, sizeOf } from './validate.js';

/** FusedBatchNorm (the forward) with per-channel rank-1 float32 statistics on channels-last x; else null. */
export const fusedBatchNorm: SimdKernel<
  { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo },
  { varianceEpsilon: number }
> = {
  kernelName: 'FusedBatchNorm',
  run(heap, { x, mean, variance, offset, scale }, { varianceEpsilon }) {
    if (x.shape.length < 1 || !float32(x, mean, variance, offset, scale) || typeof varianceEpsilon !== 'number') return null;
    const channels = x.shape[x.shape.length - 1]!;
    const perChannel = [mean, variance, offset, scale].every((t) => t == null || (t.shape.length === 1 && t.shape[0] === channels));
    if (!perChannel || channels === 0) return null;
    const rows = sizeOf(x.shape) / channels;
    const [out] = heap.run(
      [x, mean, variance, scale ?? null, offset ?? null], [x.shape],
      (k, [xp, mp, vp, sp, op], [yp, scratch]) =>
        k.batchNorm({ x: xp!, mean: mp!, variance: vp!, scale: sp!, offset: op!, epsilon: varianceEpsilon, rows, channels, y: yp!, scratch: scratch! }),
      [channels] /* scale·rsqrt(var + eps) per channel, for large tensors */,
    );
    return out!;
  },
};
