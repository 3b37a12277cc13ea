import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';

/** Name of this library's kernel: dx = dy where 0 < x ≤ 6, else 0, in one pass. */
export const RELU6_GRAD = 'MobileNetV2Relu6Grad';

export const relu6Grad: SimdKernel<{ dy: TensorInfo; x: TensorInfo }> = {
  kernelName: RELU6_GRAD,
  run(heap, { dy, x }) {
    const n = x.shape.reduce((a, b) => a * b, 1);
    const [out] = heap.run([dy, x], [x.shape], (k, [dyPtr, xPtr], [dxPtr]) => k.relu6_grad(dyPtr!, xPtr!, dxPtr!, n));
    return out!;
  },
};
