import type { Conv2DAttrs, DepthwiseConv2dNativeAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import { applyBiasActivation, supportsBiasActivation } from './biasActivation.js';

/**
 * The geometry arguments every conv entry point of the SIMD module takes, in its order:
 * N, H, W, C, OH, OW, `channels` (out channels, or the depthwise multiplier), KH, KW, SH, SW,
 * pad top, pad left, DH, DW.
 */
export function convDims(info: tf.backend_util.Conv2DInfo, channels: number): number[] {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, channels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
    info.dilationHeight, info.dilationWidth,
  ];
}

/** False for dilated convs, whose depthwise gradients TF.js itself refuses: the stock kernel runs them. */
export function undilated(dilations: number | [number, number]): boolean {
  return tf.backend_util.tupleValuesAreOne(typeof dilations === 'number' ? [dilations, dilations] : dilations);
}

/**
 * The forward pass shared by Conv2D and DepthwiseConv2dNative and their fused forms: the SIMD
 * conv, then the fused bias and activation in place. Returns null (stock kernel runs) for NCHW
 * and for biases or activations the module does not fuse.
 */
export function convForward(
  heap: Heap, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs | DepthwiseConv2dNativeAttrs, depthwise: boolean,
  bias?: TensorInfo, activation?: string,
): TensorInfo | null {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  // Depthwise filters are [KH, KW, C, M] and produce C·M channels.
  const channels = depthwise ? filter.shape[2]! * filter.shape[3]! : filter.shape[3]!;
  if (dataFormat === 'NCHW' || !supportsBiasActivation(bias, activation, channels)) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    // Layers pass dilations: null for the default.
    strides, dilations ?? 1, pad, dimRoundingMode, depthwise,
  );
  const [out] = heap.run([x, filter, bias ?? null], [info.outShape], (k, [xPtr, wPtr, biasPtr], [yPtr]) => {
    const dims = convDims(info, depthwise ? filter.shape[3]! /* multiplier */ : info.outChannels);
    if (depthwise) k.depthwise_conv2d(xPtr!, wPtr!, yPtr!, ...dims);
    else k.conv2d(xPtr!, wPtr!, yPtr!, ...dims);
    applyBiasActivation(k, yPtr!, tf.util.sizeFromShape(info.outShape), bias, biasPtr!, activation);
  });
  return out!;
}
