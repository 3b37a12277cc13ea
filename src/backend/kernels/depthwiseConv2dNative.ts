import type { DepthwiseConv2dNativeAttrs, FusedDepthwiseConv2DAttrs, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import { convForward } from './convForward.js';
import { xnnpackSamePadIsWrong } from './dispatch.js';
import type { SimdKernel } from './simdKernel.js';

type DepthwiseInputs = { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };

/**
 * On wasm, a 'same' depthwise conv that XNNPACK gets wrong ({@link xnnpackSamePadIsWrong}) and
 * that ours does not take (prelu, leakyrelu, elu or sigmoid fused, biases of other shapes): the
 * registered kernel again with the explicit pads that 'same' amounts to, which the stock kernel
 * computes right. Along an axis where TensorFlow's total pad is negative, 'same' pads nothing, and
 * its output size ⌈in / s⌉ is what no padding gives there too. Null for everything else.
 */
function withExplicitPads(
  heap: Heap, kernelName: string, inputs: DepthwiseInputs, attrs: DepthwiseConv2dNativeAttrs,
): TensorInfo | null {
  const { x, filter } = inputs;
  if (heap.backend !== 'wasm' || attrs.dataFormat === 'NCHW' || !xnnpackSamePadIsWrong(x, filter, attrs)) return null;
  let padInfo: tf.backend_util.PadInfo;
  try {
    ({ padInfo } = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs.strides, attrs.dilations ?? 1, 'same', attrs.dimRoundingMode, true,
    ));
  } catch {
    return null;
  }
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]];
  // The registered kernel (this one) takes explicit pads as stock wasm's: no second detour.
  const kernel = tf.getKernel(kernelName, 'wasm')!;
  return kernel.kernelFunc({ inputs: inputs as NamedTensorInfoMap, attrs: { ...attrs, pad } as never, backend: tf.findBackend('wasm')! }) as TensorInfo;
}

/**
 * Depthwise conv forward (NHWC), one vector pass over the channels per tap. On wasm only where
 * XNNPACK's 'same' padding goes wrong (dispatch.ts): the stock kernel is faster everywhere else.
 */
export const depthwiseConv2dNative: SimdKernel<{ x: TensorInfo; filter: TensorInfo }, DepthwiseConv2dNativeAttrs> = {
  kernelName: 'DepthwiseConv2dNative',
  run: (heap, inputs, attrs) =>
    convForward(heap, inputs.x, inputs.filter, attrs, true) ?? withExplicitPads(heap, 'DepthwiseConv2dNative', inputs, attrs),
};

export const fusedDepthwiseConv2D: SimdKernel<DepthwiseInputs, FusedDepthwiseConv2DAttrs> = {
  kernelName: 'FusedDepthwiseConv2D',
  run: (heap, inputs, attrs) =>
    convForward(heap, inputs.x, inputs.filter, attrs, true, inputs.bias, attrs.activation) ??
    withExplicitPads(heap, 'FusedDepthwiseConv2D', inputs, attrs),
};
