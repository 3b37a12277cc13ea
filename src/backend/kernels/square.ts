import type { TensorInfo } from '@tensorflow/tfjs-core';
import { BinaryOp } from '../simd/ops.js';
import type { SimdKernel } from './simdKernel.js';
import { float32, sameShape, sizeOf } from './validate.js';

/** Name of this library's kernel dx = dy · (x · 2), Square's gradient in one pass. */
export const SQUARE_GRAD = 'MobileNetV2SquareGrad';

/** Whether {@link squareGrad} takes these inputs (the gradient falls back to TF.js's otherwise). */
export const squareGradSupports = (dy: TensorInfo, x: TensorInfo): boolean => float32(dy, x) && sameShape(dy.shape, x.shape);

export const squareGrad: SimdKernel<{ dy: TensorInfo; x: TensorInfo }> = {
  kernelName: SQUARE_GRAD,
  run(heap, { dy, x }) {
    if (!squareGradSupports(dy, x)) return null;
    const [out] = heap.run([dy, x], [x.shape], (k, [dyPtr, xPtr], [dxPtr]) => k.squareGrad(dyPtr!, xPtr!, dxPtr!, sizeOf(x.shape)));
    return out!;
  },
};

/** Square as x · x in one vector pass on 'cpu', whose stock kernel calls a function per element. */
export const square: SimdKernel<{ x: TensorInfo }> = {
  kernelName: 'Square',
  backends: ['cpu'],
  run(heap, { x }) {
    if (!float32(x)) return null;
    const n = sizeOf(x.shape);
    const [out] = heap.run([x], [x.shape], (k, [xPtr], [outPtr]) => k.binaryRows(xPtr!, xPtr!, outPtr!, { rows: 1, channels: n }, BinaryOp.Mul, false));
    return out!;
  },
};
