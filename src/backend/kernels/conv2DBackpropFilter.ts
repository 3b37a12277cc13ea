import type { Conv2DBackpropFilterAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { convGeometry } from '../simd/exports.js';
import type { SimdKernel } from './simdKernel.js';
import { convInfo, float32, sameShape } from './validate.js';

/** Filter gradient of a 2-D convolution (NHWC); 1×1 stride-1 convs run as one blocked matrix product. */
export const conv2DBackpropFilter: SimdKernel<{ x: TensorInfo; dy: TensorInfo }, Conv2DBackpropFilterAttrs> = {
  kernelName: 'Conv2DBackpropFilter',
  run(heap, { x, dy }, { strides, pad, dataFormat, dimRoundingMode, filterShape }) {
    if (dataFormat === 'NCHW' || !float32(x, dy)) return null;
    const info = convInfo(heap, 'Conv2DBackpropFilter', x.shape, filterShape, strides, 1, pad, dimRoundingMode, false);
    // The C loops read dy as [N, OH, OW, Co]; stock reads it with its own strides.
    if (info === null || !sameShape(dy.shape, info.outShape)) return null;
    const [out] = heap.run([x, dy], [filterShape], (k, [xPtr, dyPtr], [dwPtr]) => {
      k.conv2dBackpropFilter(xPtr!, dyPtr!, dwPtr!, convGeometry(info, info.outChannels));
    });
    return out!;
  },
};
