import type { DepthwiseConv2dNativeBackpropInputAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { SimdKernel } from './simdKernel.js';

/** Input gradient of a depthwise convolution (NHWC, any channel multiplier and dilation). */
export const depthwiseConv2dNativeBackpropInput: SimdKernel<
  { dy: TensorInfo; filter: TensorInfo },
  DepthwiseConv2dNativeBackpropInputAttrs
> = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  run(heap, { dy, filter }, { strides, dilations, pad, dimRoundingMode, inputShape }) {
    // Like TF.js's own gradient, which refuses dilation > 1, leave dilated cases to the stock kernel.
    if (!tf.backend_util.tupleValuesAreOne(typeof dilations === 'number' ? [dilations, dilations] : dilations)) return null;
    const info = tf.backend_util.computeConv2DInfo(
      inputShape, filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode,
      true /* depthwise */,
    );
    const [out] = heap.run([dy, filter], [inputShape], (k, [dyPtr, wPtr], [dxPtr]) => {
      k.depthwise_backprop_input(
        dyPtr!, wPtr!, dxPtr!,
        info.batchSize, info.inHeight, info.inWidth, info.inChannels,
        info.outHeight, info.outWidth, info.outChannels / info.inChannels,
        info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
        info.dilationHeight, info.dilationWidth,
      );
    });
    return out!;
  },
};
