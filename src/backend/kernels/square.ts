import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';

/** Name of this library's kernel dx = dy · (x · 2), Square's gradient in one pass. */
export const SQUARE_GRAD = 'MobileNetV2SquareGrad';

export const squareGrad: SimdKernel<{ dy: TensorInfo; x: TensorInfo }> = {
  kernelName: SQUARE_GRAD,
  run(heap, { dy, x }) {
    const n = x.shape.reduce((a, b) => a * b, 1);
    const [out] = heap.run([dy, x], [x.shape], (k, [dyPtr, xPtr], [dxPtr]) => k.square_grad(dyPtr!, xPtr!, dxPtr!, n));
    return out!;
  },
};

/** Square as x · x in one vector pass on 'cpu', whose stock kernel calls a function per element. */
export const square: SimdKernel<{ x: TensorInfo }> = {
  kernelName: 'Square',
  backends: ['cpu'],
  run(heap, { x }) {
    if (x.dtype !== 'float32') return null;
    const n = x.shape.reduce((a, b) => a * b, 1);
    const [out] = heap.run([x], [x.shape], (k, [xPtr], [outPtr]) => k.binary_rows(xPtr!, xPtr!, outPtr!, 1, n, 2 /* multiply */, 0));
    return out!;
  },
};
