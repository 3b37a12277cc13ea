import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';
import { float32, sameShape, sizeOf } from './validate.js';

/**
 * Name of this library's kernel dx = dy · (1 where x lies in an interval, else 0): the one-pass
 * gradient of Relu, Relu6 and min/max against a constant.
 */
export const MASK_GRAD = 'MobileNetV2MaskGrad';

export interface MaskGradAttrs {
  lo: number;
  hi: number;
  /** Bit 0: the interval includes lo; bit 1: it includes hi; bit 2: NaN in x gives NaN. */
  closed: number;
}

/** Whether {@link maskGrad} takes these inputs (the gradients fall back to TF.js's otherwise). */
export const maskGradSupports = (dy: TensorInfo, x: TensorInfo): boolean => float32(dy, x) && sameShape(dy.shape, x.shape);

export const maskGrad: SimdKernel<{ dy: TensorInfo; x: TensorInfo }, MaskGradAttrs> = {
  kernelName: MASK_GRAD,
  run(heap, { dy, x }, { lo, hi, closed }) {
    if (!maskGradSupports(dy, x) || typeof lo !== 'number' || typeof hi !== 'number' || !Number.isInteger(closed)) return null;
    const [out] = heap.run([dy, x], [x.shape], (k, [dyPtr, xPtr], [dxPtr]) =>
      k.mask_grad(dyPtr!, xPtr!, dxPtr!, sizeOf(x.shape), lo, hi, closed),
    );
    return out!;
  },
};
