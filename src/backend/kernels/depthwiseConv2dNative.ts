import type { DepthwiseConv2dNativeAttrs, FusedDepthwiseConv2DAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { convForward } from './convForward.js';
import type { SimdKernel } from './simdKernel.js';

/**
 * Depthwise conv forward (NHWC), one vector pass over the channels per tap. 'cpu' only: on wasm
 * the stock kernel was as fast or faster in interleaved runs ({@link preferStockConv} would send
 * every depthwise conv there to stock as well).
 */
export const depthwiseConv2dNative: SimdKernel<{ x: TensorInfo; filter: TensorInfo }, DepthwiseConv2dNativeAttrs> = {
  kernelName: 'DepthwiseConv2dNative',
  backends: ['cpu'],
  run: (heap, { x, filter }, attrs) => convForward(heap, x, filter, attrs, true),
};

export const fusedDepthwiseConv2D: SimdKernel<{ x: TensorInfo; filter: TensorInfo; bias?: TensorInfo }, FusedDepthwiseConv2DAttrs> = {
  kernelName: 'FusedDepthwiseConv2D',
  backends: ['cpu'],
  run: (heap, { x, filter, bias }, attrs) => convForward(heap, x, filter, attrs, true, bias, attrs.activation),
};
