import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';

/**
 * Relu as max(x, 0) in one vector pass, with TF.js's values at NaN (kept) and −0 (kept). cpu
 * only: the stock cpu kernel calls a function per element; wasm's is already vectorized.
 */
export const relu: SimdKernel<{ x: TensorInfo }> = {
  kernelName: 'Relu',
  backends: ['cpu'],
  run(heap, { x }) {
    if (x.dtype !== 'float32') return null;
    const n = x.shape.reduce((a, b) => a * b, 1);
    const [out] = heap.run([x], [x.shape], (k, [xPtr], [outPtr]) => k.scalar_min_max(xPtr!, 0, outPtr!, n, 1 /* max */));
    return out!;
  },
};
