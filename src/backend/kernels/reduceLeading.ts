import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import type { SimdKernel } from './simdKernel.js';

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/**
 * Sum/Mean over the leading axes [0, k) of a float32 tensor, which is what BatchNorm statistics
 * and bias gradients of NHWC tensors reduce over. Other axes: null (the stock kernel runs).
 */
function reduceLeading(heap: Heap, x: TensorInfo, { axis, keepDims }: ReduceAttrs, mean: boolean): TensorInfo | null {
  if (x.dtype !== 'float32') return null;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  if (axes.some((a, i) => a !== i)) return null;
  const rows = x.shape.slice(0, axes.length).reduce((p, q) => p * q, 1);
  const channels = x.shape.slice(axes.length).reduce((p, q) => p * q, 1);
  const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
  const scale = mean ? 1 / rows : 1;
  const [out] = heap.run([x], [outShape], (k, [xPtr], [outPtr]) => k.reduce_rows(xPtr!, outPtr!, rows, channels, scale));
  return out!;
}

export const sum: SimdKernel<{ x: TensorInfo }, ReduceAttrs> = {
  kernelName: 'Sum',
  run: (heap, { x }, attrs) => reduceLeading(heap, x, attrs, false),
};

export const mean: SimdKernel<{ x: TensorInfo }, ReduceAttrs> = {
  kernelName: 'Mean',
  run: (heap, { x }, attrs) => reduceLeading(heap, x, attrs, true),
};
