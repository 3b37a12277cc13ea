import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import type { SimdKernel } from './simdKernel.js';
import { float32, sizeOf } from './validate.js';

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/**
 * Sum/Mean over the leading axes [0, k) of a float32 tensor, which is what BatchNorm statistics
 * and bias gradients of NHWC tensors reduce over. Other axes: null (the stock kernel runs).
 */
function reduceLeading(heap: Heap, x: TensorInfo, { axis, keepDims }: ReduceAttrs, mean: boolean): TensorInfo | null {
  // Stock's mean of nothing is 0 (it divides, then sums), not 0/0: empty tensors go to stock.
  if (!float32(x) || sizeOf(x.shape) === 0) return null;
  let axes: number[];
  try {
    axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  } catch {
    return null;
  }
  if (axes.some((a, i) => a !== i)) return null;
  const rows = sizeOf(x.shape.slice(0, axes.length));
  const channels = sizeOf(x.shape.slice(axes.length));
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
