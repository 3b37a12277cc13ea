import type { Conv2DAttrs, DepthwiseConv2dNativeAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { convGeometry } from '../simd/exports.js';
import type { Heap } from '../simd/heap.js';
import { applyBiasActivation, supportsBiasActivation } from './biasActivation.js';
import { preferStockConv } from './dispatch.js';
import { convInfo, float32 } from './validate.js';

/** Whether `dilations` (an attr: number, pair or null) is 1 in both dimensions. */
export function undilated(dilations: unknown): boolean {
  return dilations == null || dilations === 1 || (Array.isArray(dilations) && dilations.every((d) => d === 1));
}

/** Options of {@link convForward}. */
export interface ConvForwardOptions {
  /** Apply {@link preferStockConv} (stock runs where it is faster). Default true; the kernel benchmark turns it off. */
  dispatch?: boolean;
}

/**
 * The forward pass shared by Conv2D and DepthwiseConv2dNative and their fused forms: the SIMD
 * conv, then the fused bias and activation in place. Returns null (stock kernel runs) for NCHW,
 * for biases or activations the module does not fuse, for inputs the C code cannot take, and,
 * with `dispatch`, where {@link preferStockConv} picks stock; a negative output size throws
 * `RejectedInput` on wasm (validate.ts's convInfo).
 */
export function convForward(
  heap: Heap, x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs | DepthwiseConv2dNativeAttrs, depthwise: boolean,
  bias?: TensorInfo, activation?: string, { dispatch = true }: ConvForwardOptions = {},
): TensorInfo | null {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  if (dataFormat === 'NCHW' || !float32(x, filter, bias)) return null;
  // Validation first: convInfo rejects input that the stock wasm kernel would run out of bounds
  // on, so the speed rule below must never hand such input to stock.
  const info = convInfo(heap, depthwise ? 'DepthwiseConv2dNative' : 'Conv2D', x.shape, filter.shape, strides, dilations, pad, dimRoundingMode, depthwise);
  if (info === null || !supportsBiasActivation(bias, activation, info.outShape)) return null;
  if (dispatch && preferStockConv(heap.backend, x, filter, attrs, depthwise, bias)) return null;
  const [out] = heap.run([x, filter, bias ?? null], [info.outShape], (k, [xPtr, wPtr, biasPtr], [yPtr]) => {
    const geometry = convGeometry(info, depthwise ? filter.shape[3]! /* multiplier */ : info.outChannels);
    if (depthwise) k.depthwiseConv2d(xPtr!, wPtr!, yPtr!, geometry);
    else k.conv2d(xPtr!, wPtr!, yPtr!, geometry);
    applyBiasActivation(k, yPtr!, tf.util.sizeFromShape(info.outShape), bias, biasPtr!, activation);
  });
  return out!;
}
