import type { DepthwiseConv2dNativeAttrs, FusedDepthwiseConv2DAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import { applyBiasActivation, supportsBiasActivation } from './biasActivation.js';
import type { SimdKernel } from './simdKernel.js';

/**
 * Depthwise conv forward (NHWC), one vector pass over the channels per tap. 'cpu' only: on wasm
 * the stock kernel was as fast or faster in interleaved runs.
 */
function depthwise(
  heap: Heap, x: TensorInfo, filter: TensorInfo, attrs: DepthwiseConv2dNativeAttrs, bias?: TensorInfo, activation?: string,
): TensorInfo | null {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  const channels = filter.shape[2]! * filter.shape[3]!;
  if (dataFormat === 'NCHW' || !supportsBiasActivation(bias, activation, channels)) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    // Layers pass dilations: null for the default.
    strides, dilations ?? 1, pad, dimRoundingMode, true /* depthwise */,
  );
  const [out] = heap.run([x, filter, bias ?? null], [info.outShape], (k, [xPtr, wPtr, biasPtr], [yPtr]) => {
    k.depthwise_conv2d(
      xPtr!, wPtr!, yPtr!,
      info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, filter.shape[3]!,
      info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
      info.dilationHeight, info.dilationWidth,
    );
    applyBiasActivation(k, yPtr!, tf.util.sizeFromShape(info.outShape), bias, biasPtr!, activation);
  });
  return out!;
}

export const depthwiseConv2dNative: SimdKernel<{ x: TensorInfo; filter: TensorInfo }, DepthwiseConv2dNativeAttrs> = {
  kernelName: 'DepthwiseConv2dNative',
  backends: ['cpu'],
  run: (heap, { x, filter }, attrs) => depthwise(heap, x, filter, attrs),
};

export const fusedDepthwiseConv2D: SimdKernel<{ x: TensorInfo; filter: TensorInfo; bias?: TensorInfo }, FusedDepthwiseConv2DAttrs> = {
  kernelName: 'FusedDepthwiseConv2D',
  backends: ['cpu'],
  run: (heap, { x, filter, bias }, attrs) => depthwise(heap, x, filter, attrs, bias, attrs.activation),
};
