import type { DepthwiseConv2dNativeBackpropFilterAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { convDims, undilated } from './convForward.js';
import type { SimdKernel } from './simdKernel.js';

/** Filter gradient of a depthwise convolution (NHWC, any channel multiplier; dilated convs run on the stock kernel). */
export const depthwiseConv2dNativeBackpropFilter: SimdKernel<
  { x: TensorInfo; dy: TensorInfo },
  DepthwiseConv2dNativeBackpropFilterAttrs
> = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  run(heap, { x, dy }, { strides, dilations, pad, dimRoundingMode, filterShape }) {
    if (!undilated(dilations)) return null;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, strides, dilations, pad, dimRoundingMode,
      true /* depthwise */,
    );
    const [out] = heap.run([x, dy], [filterShape], (k, [xPtr, dyPtr], [dwPtr]) => {
      k.depthwise_backprop_filter(xPtr!, dyPtr!, dwPtr!, ...convDims(info, info.outChannels / info.inChannels /* multiplier */));
    });
    return out!;
  },
};
