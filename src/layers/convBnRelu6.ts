import { tf } from '../tf.js';
import type { BatchNormOptions } from './batchNorm.js';
import type { Init } from './init.js';

/** Names of the stock layers one conv unit creates, so callers control the Keras-style naming. */
export interface ConvUnitNames {
  /** ZeroPadding2D, created only for strided convs. */
  pad: string;
  conv: string;
  bn: string;
  /** The ReLU6; unused when `relu6` is false. */
  act: string;
}

export interface ConvBNReLU6Args {
  /** Output channels. Ignored when `depthwise` (the channel count is kept). */
  filters: number;
  kernelSize: number;
  /** Default 1. */
  strides?: number;
  /** Depthwise conv, i.e. PyTorch's `groups = channels`. Default false. */
  depthwise?: boolean;
  /** False gives the linear bottleneck: conv + BN with no activation. Default true. */
  relu6?: boolean;
  names: ConvUnitNames;
  batchNorm: Required<BatchNormOptions>;
  init: Init;
}

/**
 * Conv (or depthwise conv) without bias, then BatchNorm, then ReLU6: the seed's `ConvBNReLU`.
 *
 * Padding matches PyTorch's symmetric `(k - 1) / 2`. TF's `'same'` is symmetric for odd kernels
 * at stride 1, so it is used there; at stride 2 on an even input `'same'` pads 0 before and 1
 * after, which shifts every output, so strided convs get an explicit ZeroPadding2D and `'valid'`.
 */
export function convBNReLU6(x: tf.SymbolicTensor, args: ConvBNReLU6Args): tf.SymbolicTensor {
  const { kernelSize, names, init } = args;
  const strides = args.strides ?? 1;
  const inChannels = x.shape[x.shape.length - 1] as number;
  const outChannels = args.depthwise ? inChannels : args.filters;

  let padding: 'same' | 'valid' = kernelSize === 1 ? 'valid' : 'same';
  if (strides > 1 && kernelSize > 1) {
    const p = (kernelSize - 1) >> 1;
    x = tf.layers.zeroPadding2d({ padding: [[p, p], [p, p]], name: names.pad }).apply(x) as tf.SymbolicTensor;
    padding = 'valid';
  }

  const common = { kernelSize, strides, padding, useBias: false, name: names.conv } as const;
  const conv = args.depthwise
    ? tf.layers.depthwiseConv2d({ ...common, depthMultiplier: 1, depthwiseInitializer: init.kaimingNormalFanOut(outChannels, kernelSize) })
    : tf.layers.conv2d({ ...common, filters: outChannels, kernelInitializer: init.kaimingNormalFanOut(outChannels, kernelSize) });
  x = conv.apply(x) as tf.SymbolicTensor;

  x = tf.layers
    .batchNormalization({
      axis: -1,
      epsilon: args.batchNorm.epsilon,
      momentum: 1 - args.batchNorm.momentum,
      name: names.bn,
    })
    .apply(x) as tf.SymbolicTensor;

  if (args.relu6 === false) return x;
  // Activation('relu6') runs the single Relu6 kernel; ReLU({maxValue: 6}) would run Relu then
  // ClipByValue and double the work in both passes. Both are stock layers.
  return tf.layers.activation({ activation: 'relu6', name: names.act }).apply(x) as tf.SymbolicTensor;
}
