import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import type { SimdKernel } from './simdKernel.js';

/**
 * min/max of a tensor and a one-element tensor, the shape of Keras's ReLU6 (`minimum(6, relu(x))`),
 * which the wasm backend otherwise runs through its slow general broadcast. Anything else: null.
 */
function scalarMinMax(heap: Heap, a: TensorInfo, b: TensorInfo, op: 0 | 1): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const size = (t: TensorInfo) => t.shape.reduce((p, q) => p * q, 1);
  const [x, s] = size(b) === 1 ? [a, b] : size(a) === 1 ? [b, a] : [null, null];
  if (x === null || s === null) return null;
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const value = heap.scalar(s);
  const [out] = heap.run([x], [shape], (k, [xPtr], [outPtr]) => k.scalar_min_max(xPtr!, value, outPtr!, size(x), op));
  return out!;
}

export const minimum: SimdKernel<{ a: TensorInfo; b: TensorInfo }> = {
  kernelName: 'Minimum',
  run: (heap, { a, b }) => scalarMinMax(heap, a, b, 0),
};

export const maximum: SimdKernel<{ a: TensorInfo; b: TensorInfo }> = {
  kernelName: 'Maximum',
  run: (heap, { a, b }) => scalarMinMax(heap, a, b, 1),
};
