import type { DepthwiseConv2dNativeBackpropInputAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { convGeometry } from '../simd/exports.js';
import { undilated } from './convForward.js';
import type { SimdKernel } from './simdKernel.js';
import { convInfo, float32, sameShape } from './validate.js';

/** Input gradient of a depthwise convolution (NHWC, any channel multiplier; dilated convs run on the stock kernel). */
export const depthwiseConv2dNativeBackpropInput: SimdKernel<
  { dy: TensorInfo; filter: TensorInfo },
  DepthwiseConv2dNativeBackpropInputAttrs
> = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  run(heap, { dy, filter }, { strides, dilations, pad, dimRoundingMode, inputShape }) {
    // Dilated: stock cpu's kernels ignore the dilations (TF.js's gradients refuse them), so stock runs.
    if (!undilated(dilations) || !float32(dy, filter)) return null;
    const info = convInfo(heap, 'DepthwiseConv2dNativeBackpropInput', inputShape, filter.shape, strides, 1, pad, dimRoundingMode, true);
    if (info === null || !sameShape(dy.shape, info.outShape)) return null;
    const [out] = heap.run([dy, filter], [inputShape], (k, [dyPtr, wPtr], [dxPtr]) => {
      k.depthwiseBackpropInput(dyPtr!, wPtr!, dxPtr!, convGeometry(info, filter.shape[3]! /* multiplier */));
    });
    return out!;
  },
};
