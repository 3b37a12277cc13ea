import type { DepthwiseConv2dNativeBackpropInputAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { convDims, undilated } from './convForward.js';
import type { SimdKernel } from './simdKernel.js';

/** Input gradient of a depthwise convolution (NHWC, any channel multiplier; dilated convs run on the stock kernel). */
export const depthwiseConv2dNativeBackpropInput: SimdKernel<
  { dy: TensorInfo; filter: TensorInfo },
  DepthwiseConv2dNativeBackpropInputAttrs
> = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  run(heap, { dy, filter }, { strides, dilations, pad, dimRoundingMode, inputShape }) {
    if (!undilated(dilations)) return null;
    const info = tf.backend_util.computeConv2DInfo(
      inputShape, filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode,
      true /* depthwise */,
    );
    const [out] = heap.run([dy, filter], [inputShape], (k, [dyPtr, wPtr], [dxPtr]) => {
      k.depthwise_backprop_input(dyPtr!, wPtr!, dxPtr!, ...convDims(info, info.outChannels / info.inChannels /* multiplier */));
    });
    return out!;
  },
};
