import type { DepthwiseConv2dNativeBackpropInputAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../tf.js';
import type { SimdKernel } from './simdKernel.js';

/** Input gradient of a depthwise convolution (NHWC, any channel multiplier and dilation). */
export const depthwiseConv2dNativeBackpropInput: SimdKernel<
  { dy: TensorInfo; filter: TensorInfo },
  DepthwiseConv2dNativeBackpropInputAttrs
> = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  run(heap, { dy, filter }, { strides, dilations, pad, dimRoundingMode, inputShape }) {
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
