import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';

/**
 * Name of this library's kernel for the gradient of a Mean over leading axes: dy (one value per
 * trailing position) spread over `shape` and divided by the number of rows.
 */
export const MEAN_GRAD = 'MobileNetV2MeanGrad';

export const meanGrad: SimdKernel<{ dy: TensorInfo }, { shape: number[] }> = {
  kernelName: MEAN_GRAD,
  run(heap, { dy }, { shape }) {
    const channels = dy.shape.reduce((a, b) => a * b, 1);
    const rows = shape.reduce((a, b) => a * b, 1) / channels;
    const [out] = heap.run([dy], [shape], (k, [dyPtr], [outPtr]) => k.broadcast_rows(dyPtr!, outPtr!, rows, channels, rows));
    return out!;
  },
};
