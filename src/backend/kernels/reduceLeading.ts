import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import type { SimdKernel } from './simdKernel.js';
import { axisRun, float32, sizeOf } from './validate.js';

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/**
 * Sum/Mean over one run of consecutive axes [s, e) of a float32 tensor: the leading axes
 * (s = 0) that BatchNorm statistics and bias gradients of NHWC tensors reduce over, and the
 * spatial axes [1, 3) of global average pooling, as one reduction of rows per outer index.
 * Other axes: null (the stock kernel runs).
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
  const start = axes[0] ?? 0;
  const end = start + axes.length;
  if (axes.some((a, i) => a !== start + i)) return null;
  const { outer, rows, channels } = axisRun(x.shape, start, end);
  const outShape = keepDims ? x.shape.map((d, i) => (i >= start && i < end ? 1 : d)) : x.shape.filter((_, i) => i < start || i >= end);
  const scale = mean ? 1 / rows : 1;
  const [out] = heap.run([x], [outShape], (k, [xPtr], [outPtr]) => {
    for (let o = 0; o < outer; o++) k.reduceRows(xPtr! + 4 * o * rows * channels, outPtr! + 4 * o * channels, { rows, channels }, scale);
  });
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
