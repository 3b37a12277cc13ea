import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';

/** FusedBatchNorm (the forward) with per-channel rank-1 statistics on channels-last x; else null. */
export const fusedBatchNorm: SimdKernel<
  { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo },
  { varianceEpsilon: number }
> = {
  kernelName: 'FusedBatchNorm',
  run(heap, { x, mean, variance, offset, scale }, { varianceEpsilon }) {
    const channels = x.shape[x.shape.length - 1]!;
    const perChannel = [mean, variance, offset, scale].every((t) => t == null || (t.shape.length === 1 && t.shape[0] === channels));
    if (!perChannel || x.dtype !== 'float32') return null;
    const rows = x.shape.reduce((a, b) => a * b, 1) / channels;
    const [out] = heap.run([x, mean, variance, scale ?? null, offset ?? null], [x.shape], (k, [xp, mp, vp, sp, op], [yp]) =>
      k.batch_norm(xp!, mp!, vp!, sp!, op!, varianceEpsilon, rows, channels, yp!),
    );
    return out!;
  },
};
