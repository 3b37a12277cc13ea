import { tf } from '../tf.js';
import type { BatchNormOptions } from './batchNorm.js';
import { convBNReLU6 } from './convBnRelu6.js';
import type { Init } from './init.js';

export interface InvertedResidualArgs {
  outChannels: number;
  strides: number;
  /** The expansion factor t. */
  expandRatio: number;
  /** Block index, used for the Keras-style names `block_{i}_*`. */
  index: number;
  batchNorm: Required<BatchNormOptions>;
  init: Init;
}

/** Whether a block has the identity shortcut: exactly when it keeps both resolution and width. */
export function hasShortcut(inChannels: number, outChannels: number, strides: number): boolean {
  return strides === 1 && inChannels === outChannels;
}

/**
 * The inverted residual block (Sandler et al. 2018, Table 1): expand with a 1×1 conv, filter
 * with a 3×3 depthwise conv that carries the stride, then project back with a linear 1×1 conv.
 * The projection has no activation: ReLU in the narrow bottleneck destroys information (§3.2).
 */
export function invertedResidual(x: tf.SymbolicTensor, args: InvertedResidualArgs): tf.SymbolicTensor {
  const { outChannels, strides, expandRatio, batchNorm, init } = args;
  const name = `block_${args.index}`;
  const inChannels = x.shape[x.shape.length - 1] as number;
  // torchvision rounds (int(round(inp * t))); for integer t this is exact.
  const hidden = Math.round(inChannels * expandRatio);
  const input = x;

  if (expandRatio !== 1) {
    // pw
    x = convBNReLU6(x, {
      filters: hidden, kernelSize: 1, batchNorm, init,
      names: { pad: `${name}_expand_pad`, conv: `${name}_expand`, bn: `${name}_expand_BN`, act: `${name}_expand_relu` },
    });
  }
  // dw
  x = convBNReLU6(x, {
    filters: hidden, kernelSize: 3, strides, depthwise: true, batchNorm, init,
    names: { pad: `${name}_pad`, conv: `${name}_depthwise`, bn: `${name}_depthwise_BN`, act: `${name}_depthwise_relu` },
  });
  // pw-linear (no activation)
  x = convBNReLU6(x, {
    filters: outChannels, kernelSize: 1, relu6: false, batchNorm, init,
    names: { pad: `${name}_project_pad`, conv: `${name}_project`, bn: `${name}_project_BN`, act: '' },
  });

  if (!hasShortcut(inChannels, outChannels, strides)) return x;
  return tf.layers.add({ name: `${name}_add` }).apply([input, x]) as tf.SymbolicTensor;
}
