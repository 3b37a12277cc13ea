import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';
import { float32, isShape, sizeOf } from './validate.js';

/**
 * Name of this library's kernel for the gradient of a Mean over leading axes: dy (one value per
 * trailing position) spread over `shape` and divided by the number of rows.
 */
export const MEAN_GRAD = 'MobileNetV2MeanGrad';

/** Whether {@link meanGrad} takes dy for an input of `shape`: dy has the size of its trailing dims. */
export function meanGradSupports(dy: TensorInfo, shape: unknown): boolean {
  if (!float32(dy) || !isShape(shape)) return false;
  const channels = sizeOf(dy.shape);
  return channels > 0 && sizeOf(shape) % channels === 0;
}

export const meanGrad: SimdKernel<{ dy: TensorInfo }, { shape: number[] }> = {
  kernelName: MEAN_GRAD,
  run(heap, { dy }, { shape }) {
    if (!meanGradSupports(dy, shape)) return null;
    const channels = sizeOf(dy.shape);
    const rows = sizeOf(shape) / channels;
    const [out] = heap.run([dy], [shape], (k, [dyPtr], [outPtr]) => k.broadcast_rows(dyPtr!, outPtr!, rows, channels, rows));
    return out!;
  },
};
