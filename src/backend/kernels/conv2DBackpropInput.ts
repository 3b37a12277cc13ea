import type { Conv2DBackpropInputAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { convGeometry } from '../simd/exports.js';
import type { SimdKernel } from './simdKernel.js';
import { convInfo, float32, reject, sameShape } from './validate.js';

/** Input gradient of a 2-D convolution (NHWC); 1×1 stride-1 convs run as one blocked matrix product. */
export const conv2DBackpropInput: SimdKernel<{ dy: TensorInfo; filter: TensorInfo }, Conv2DBackpropInputAttrs> = {
  kernelName: 'Conv2DBackpropInput',
  run(heap, { dy, filter }, { strides, pad, dataFormat, dimRoundingMode, inputShape }) {
    if (dataFormat === 'NCHW' || !float32(dy, filter)) return null;
    const info = convInfo(heap, 'Conv2DBackpropInput', inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false);
    // conv2dTranspose may pass a dy larger than the conv of inputShape gives; stock reads the
    // top-left part of it with dy's own strides, the C loops would read it as [N, OH, OW, Co].
    // A smaller dy makes stock read past its end (NaN on cpu, the heap on wasm).
    if (info === null) return null;
    if (dy.shape.length !== 4 || dy.shape.some((d, i) => d < info.outShape[i]!)) {
      return reject(heap, `Conv2DBackpropInput: dy's shape [${dy.shape}] is smaller than the conv output [${info.outShape}]`);
    }
    if (!sameShape(dy.shape, info.outShape)) return null;
    const pointwise = info.filterHeight === 1 && info.filterWidth === 1;
    const [out] = heap.run([dy, filter], [inputShape], (k, [dyPtr, wPtr], [dxPtr, wtPtr]) => {
      k.conv2dBackpropInput(dyPtr!, wPtr!, dxPtr!, convGeometry(info, info.outChannels), wtPtr ?? 0);
    }, pointwise ? [info.inChannels * info.outChannels] /* transposed filter */ : []);
    return out!;
  },
};
