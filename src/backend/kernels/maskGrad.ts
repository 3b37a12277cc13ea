import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { MaskInterval } from '../simd/exports.js';
import type { SimdKernel } from './simdKernel.js';
import { float32, sameShape, sizeOf } from './validate.js';

/**
 * Name of this library's kernel dx = dy · (1 where x lies in an interval, else 0): the one-pass
 * gradient of Relu, Relu6 and min/max against a constant.
 */
export const MASK_GRAD = 'MobileNetV2MaskGrad';

export type MaskGradAttrs = MaskInterval;

/** dy · (1 where x lies in `interval`, else 0) through {@link maskGrad}; the caller checks {@link maskGradSupports}. */
export function runMaskGrad(dy: Tensor, x: Tensor, interval: MaskInterval): Tensor {
  return tf.engine().runKernel(MASK_GRAD, { dy, x }, { ...interval }) as Tensor;
}

/** Whether {@link maskGrad} takes these inputs (the gradients fall back to TF.js's otherwise). */
export const maskGradSupports = (dy: TensorInfo, x: TensorInfo): boolean => float32(dy, x) && sameShape(dy.shape, x.shape);

export const maskGrad: SimdKernel<{ dy: TensorInfo; x: TensorInfo }, MaskGradAttrs> = {
  kernelName: MASK_GRAD,
  run(heap, { dy, x }, { lo, hi, flags }) {
    if (!maskGradSupports(dy, x) || typeof lo !== 'number' || typeof hi !== 'number' || !Number.isInteger(flags)) return null;
    const [out] = heap.run([dy, x], [x.shape], (k, [dyPtr, xPtr], [dxPtr]) =>
      k.maskGrad(dyPtr!, xPtr!, dxPtr!, sizeOf(x.shape), { lo, hi, flags }),
    );
    return out!;
  },
};
