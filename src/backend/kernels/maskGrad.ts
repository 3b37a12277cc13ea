import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';

/**
 * Name of this library's kernel dx = dy where x lies in an interval, else 0: the one-pass
 * gradient of Relu, Relu6 and min/max against a constant.
 */
export const MASK_GRAD = 'MobileNetV2MaskGrad';

export interface MaskGradAttrs {
  lo: number;
  hi: number;
  /** Bit 0: the interval includes lo; bit 1: it includes hi. */
  closed: number;
}

export const maskGrad: SimdKernel<{ dy: TensorInfo; x: TensorInfo }, MaskGradAttrs> = {
  kernelName: MASK_GRAD,
  run(heap, { dy, x }, { lo, hi, closed }) {
    const n = x.shape.reduce((a, b) => a * b, 1);
    const [out] = heap.run([dy, x], [x.shape], (k, [dyPtr, xPtr], [dxPtr]) =>
      k.mask_grad(dyPtr!, xPtr!, dxPtr!, n, lo, hi, closed),
    );
    return out!;
  },
};
