import type { TensorInfo } from '@tensorflow/tfjs-core';
import { ScalarOp } from '../simd/ops.js';
import type { SimdKernel } from './simdKernel.js';
import { float32, sizeOf } from './validate.js';

/**
 * Relu in one vector pass, with TF.js's values (`Math.max(0, x)`) at NaN (kept) and −0 (+0).
 * cpu only: the stock cpu kernel calls a function per element; wasm's is already vectorized.
 */
export const relu: SimdKernel<{ x: TensorInfo }> = {
  kernelName: 'Relu',
  backends: ['cpu'],
  run(heap, { x }) {
    if (!float32(x)) return null;
    const [out] = heap.run([x], [x.shape], (k, [xPtr], [outPtr]) => k.scalarMinMax(xPtr!, 0, outPtr!, sizeOf(x.shape), ScalarOp.Relu));
    return out!;
  },
};

/** Relu6 the same way, `Math.min(Math.max(0, x), 6)` as stock cpu computes it; cpu only, as Relu. */
export const relu6: SimdKernel<{ x: TensorInfo }> = {
  kernelName: 'Relu6',
  backends: ['cpu'],
  run(heap, { x }) {
    if (!float32(x)) return null;
    const [out] = heap.run([x], [x.shape], (k, [xPtr], [outPtr]) => k.scalarMinMax(xPtr!, 6, outPtr!, sizeOf(x.shape), ScalarOp.Relu6));
    return out!;
  },
};
