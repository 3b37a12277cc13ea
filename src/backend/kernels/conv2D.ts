import type { Conv2DAttrs, FusedConv2DAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { convForward } from './convForward.js';
import type { SimdKernel } from './simdKernel.js';

/**
 * Conv2D forward (NHWC); 1×1 stride-1 convs run as one blocked matrix product. On wasm only
 * the shapes where that beats the stock (XNNPACK) kernel, and the convs stock wasm computes
 * wrongly, run here: convForward validates the input, then asks dispatch.ts's preferStockConv
 * which; the stock kernel runs the rest.
 */
export const conv2D: SimdKernel<{ x: TensorInfo; filter: TensorInfo }, Conv2DAttrs> = {
  kernelName: 'Conv2D',
  run: (heap, { x, filter }, attrs) => convForward(heap, x, filter, attrs, false),
};

export const fusedConv2D: SimdKernel<{ x: TensorInfo; filter: TensorInfo; bias?: TensorInfo }, FusedConv2DAttrs> = {
  kernelName: 'FusedConv2D',
  run: (heap, { x, filter, bias }, attrs) => convForward(heap, x, filter, attrs, false, bias, attrs.activation),
};
