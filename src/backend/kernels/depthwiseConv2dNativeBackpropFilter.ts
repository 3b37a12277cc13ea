import type { DepthwiseConv2dNativeBackpropFilterAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { SimdKernel } from './simdKernel.js';

/** Filter gradient of a depthwise convolution (NHWC, any channel multiplier and dilation). */
export const depthwiseConv2dNativeBackpropFilter: SimdKernel<
  { x: TensorInfo; dy: TensorInfo },
  DepthwiseConv2dNativeBackpropFilterAttrs
> = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  run(heap, { x, dy }, { strides, dilations, pad, dimRoundingMode, filterShape }) {
    // Like TF.js's own gradient, which refuses dilation > 1, leave dilated cases to the stock kernel.
    if (!tf.backend_util.tupleValuesAreOne(typeof dilations === 'number' ? [dilations, dilations] : dilations)) return null;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, strides, dilations, pad, dimRoundingMode,
      true /* depthwise */,
    );
    const [out] = heap.run([x, dy], [filterShape], (k, [xPtr, dyPtr], [dwPtr]) => {
      k.depthwise_backprop_filter(
        xPtr!, dyPtr!, dwPtr!,
        info.batchSize, info.inHeight, info.inWidth, info.inChannels,
        info.outHeight, info.outWidth, info.outChannels / info.inChannels,
        info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
        info.dilationHeight, info.dilationWidth,
      );
    });
    return out!;
  },
};
