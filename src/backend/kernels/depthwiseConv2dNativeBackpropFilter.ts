import type { DepthwiseConv2dNativeBackpropFilterAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { convGeometry } from '../simd/exports.js';
import { undilated } from './convForward.js';
import type { SimdKernel } from './simdKernel.js';
import { convInfo, float32, sameShape } from './validate.js';

/** Filter gradient of a depthwise convolution (NHWC, any channel multiplier; dilated convs run on the stock kernel). */
export const depthwiseConv2dNativeBackpropFilter: SimdKernel<
  { x: TensorInfo; dy: TensorInfo },
  DepthwiseConv2dNativeBackpropFilterAttrs
> = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  run(heap, { x, dy }, { strides, dilations, pad, dimRoundingMode, filterShape }) {
    // Dilated: stock cpu's kernels ignore the dilations (TF.js's gradients refuse them), so stock runs.
    if (!undilated(dilations) || !float32(x, dy)) return null;
    const info = convInfo(heap, 'DepthwiseConv2dNativeBackpropFilter', x.shape, filterShape, strides, 1, pad, dimRoundingMode, true);
    if (info === null || !sameShape(dy.shape, info.outShape)) return null;
    const [out] = heap.run([x, dy], [filterShape], (k, [xPtr, dyPtr], [dwPtr]) => {
      k.depthwiseBackpropFilter(xPtr!, dyPtr!, dwPtr!, convGeometry(info, filterShape[3]! /* multiplier */));
    });
    return out!;
  },
};
