import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import { BinaryOp, ScalarOp } from '../simd/ops.js';
import type { SimdKernel } from './simdKernel.js';
import { float32, sizeOf } from './validate.js';

/**
 * min/max of a tensor and a one-element tensor, the shape of Keras's ReLU6 (`minimum(6, relu(x))`),
 * which the wasm backend otherwise runs through its slow general broadcast. Anything else: null.
 * So is a zero scalar: TF.js orders −0 below +0, which the vector min/max do not.
 */
function scalarMinMax(heap: Heap, a: TensorInfo, b: TensorInfo, op: ScalarOp.Min | ScalarOp.Max): TensorInfo | null {
  if (!float32(a, b)) return null;
  const [x, s] = sizeOf(b.shape) === 1 ? [a, b] : sizeOf(a.shape) === 1 ? [b, a] : [null, null];
  if (x === null || s === null) return null;
  // A one-element tensor always broadcasts, onto x's size.
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const value = heap.scalar(s);
  if (value === 0) return null;
  const [out] = heap.run([x, s], [shape], (k, [xPtr, sPtr], [outPtr]) => {
    // NaN against anything is NaN (Math.min/Math.max, stock cpu; stock wasm ignores a NaN
    // scalar): x + s fills the output with NaN.
    if (Number.isNaN(value)) k.binaryRows(xPtr!, sPtr!, outPtr!, { rows: sizeOf(x.shape), channels: 1 }, BinaryOp.Add, false);
    else k.scalarMinMax(xPtr!, value, outPtr!, sizeOf(x.shape), op);
  });
  return out!;
}

export const minimum: SimdKernel<{ a: TensorInfo; b: TensorInfo }> = {
  kernelName: 'Minimum',
  run: (heap, { a, b }) => scalarMinMax(heap, a, b, ScalarOp.Min),
};

export const maximum: SimdKernel<{ a: TensorInfo; b: TensorInfo }> = {
  kernelName: 'Maximum',
  run: (heap, { a, b }) => scalarMinMax(heap, a, b, ScalarOp.Max),
};
