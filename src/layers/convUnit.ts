import type { Block, ConvUnit } from '../models/architecture.js';
import { runBlock } from '../models/architecture.js';
import { tf } from '../tf.js';
import type { BatchNormOptions } from './batchNorm.js';
import type { Init } from './init.js';

/** What building layers needs besides the description: BatchNorm settings and the initializers. */
export interface BuildContext {
  batchNorm: Required<BatchNormOptions>;
  init: Init;
}

/**
 * The stock layers of one conv unit applied to `x`: ZeroPadding2D (strided k > 1 convs only),
 * Conv2D or DepthwiseConv2D without bias, BatchNormalization, and ReLU6 unless the unit is a
 * linear projection. Named as the unit says.
 *
 * @example
 * const arch = describeMobileNetV2({ inputShape: [96, 96, 3] });
 * const y = applyConvUnit(tf.input({ shape: [96, 96, 3] }), arch.stem, { batchNorm: { epsilon: 1e-5, momentum: 0.1 }, init: new Init(0) });
 */
export function applyConvUnit(x: tf.SymbolicTensor, unit: ConvUnit, { batchNorm, init }: BuildContext): tf.SymbolicTensor {
  const { kernelSize, stride, layers } = unit;
  if (unit.layerPadding === 'explicit') {
    const p = unit.padding;
    x = tf.layers.zeroPadding2d({ padding: [[p, p], [p, p]], name: layers.pad }).apply(x) as tf.SymbolicTensor;
  }
  const padding = unit.layerPadding === 'same' ? 'same' : 'valid';
  const common = { kernelSize, strides: stride, padding, useBias: false, name: layers.conv } as const;
  // PyTorch's kaiming_normal_(mode='fan_out') counts out_channels × kernel area for depthwise convs too.
  const initializer = init.kaimingNormalFanOut(unit.outChannels, kernelSize);
  const conv = unit.op === 'depthwise'
    ? tf.layers.depthwiseConv2d({ ...common, depthMultiplier: 1, depthwiseInitializer: initializer })
    : tf.layers.conv2d({ ...common, filters: unit.outChannels, kernelInitializer: initializer });
  x = conv.apply(x) as tf.SymbolicTensor;
  // TF.js/Keras write the moving-average momentum as the weight of the old value: 1 − PyTorch's.
  x = tf.layers.batchNormalization({ axis: -1, epsilon: batchNorm.epsilon, momentum: 1 - batchNorm.momentum, name: layers.bn })
    .apply(x) as tf.SymbolicTensor;
  if (unit.activation === 'linear') return x;
  // Activation('relu6') runs the single Relu6 kernel; ReLU({maxValue: 6}) would run Relu then
  // ClipByValue and double the work in both passes. Both are stock layers.
  return tf.layers.activation({ activation: 'relu6', name: layers.act }).apply(x) as tf.SymbolicTensor;
}

/**
 * The stock layers of one inverted residual block applied to `x` (see `describeBlock`): its
 * conv units, then the identity shortcut's Add where the block has one.
 *
 * @example
 * const block = describeBlock(0, 0, 32, [48, 48], 6, 32, 1); // t = 6, 32 → 32 channels, stride 1: has a shortcut
 * const y = applyInvertedResidual(tf.input({ shape: [48, 48, 32] }), block, context);
 */
export function applyInvertedResidual(x: tf.SymbolicTensor, block: Block, context: BuildContext): tf.SymbolicTensor {
  return runBlock(block, x, symbolicOps(context));
}

/** Unit and shortcut ops that create stock layers. */
export function symbolicOps(context: BuildContext) {
  return {
    unit: (unit: ConvUnit, x: tf.SymbolicTensor) => applyConvUnit(x, unit, context),
    add: (block: Block, input: tf.SymbolicTensor, x: tf.SymbolicTensor) =>
      tf.layers.add({ name: block.shortcut!.layer }).apply([input, x]) as tf.SymbolicTensor,
  };
}
