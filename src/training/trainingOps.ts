import type { GradSaveFunc } from '@tensorflow/tfjs-core';
import { releaseWhenDone } from '../backend/gradients/releaseEarly.js';
import { BATCH_NORM_GRAD } from '../backend/kernels/batchNormGrad.js';
import { MASK_GRAD } from '../backend/kernels/maskGrad.js';
import { tf } from '../tf.js';

/**
 * Training-mode replacements for two stock layers' `call`, used by `applyModel` on the backends
 * that have this library's kernels. Same forward arithmetic as the layers (the same kernels in
 * the same order), fewer tensors saved for the backward pass:
 *
 * - Keras's ReLU6 is `minimum(6, relu(x))`: the tape keeps relu's input and minimum's input,
 *   two full-size copies, where the output alone decides the gradient (0 < y < 6).
 * - BatchNormalization's batch statistics go through `moments`, whose Sub, Square and Mean keep
 *   x − mean and its square, two more full-size copies, only to route the gradient of the
 *   variance; here one gradient covers the statistics and keeps only x.
 *
 * - A Conv2D layer runs `fused.conv2d`, a customGrad whose backward keeps its dy to the end of
 *   the pass (only registered gradients release early, see releaseEarly.ts); without bias and
 *   activation it is the plain Conv2D kernel, whose registered gradient does release.
 *
 * So a conv unit keeps its conv output and its activation, as in PyTorch.
 */

/** Whether the active backend has `kernelName` (this library's kernels are on wasm and cpu only). */
const hasKernel = (kernelName: string) => tf.getKernel(kernelName, tf.getBackend()) !== undefined;

/** Whether the active backend has the kernels these ops differentiate with. */
export function trainingOpsAvailable(): boolean {
  return hasKernel(MASK_GRAD) && hasKernel(BATCH_NORM_GRAD);
}

/** relu6(x) whose gradient keeps only the output: dy where 0 < y < 6 (as `minimum(6, relu(x))`'s gradient). */
export function relu6KeepingOutput(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((input, save) => {
    const y = tf.relu6(input as tf.Tensor);
    (save as GradSaveFunc)([y]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const dx = tf.engine().runKernel(MASK_GRAD, { dy: dy as tf.Tensor, x: saved[0]! }, { lo: 0, hi: 6, closed: 0 /* (0, 6) */ }) as tf.Tensor;
        releaseWhenDone(dy as tf.Tensor, saved, {});
        return [dx];
      },
    };
  });
  return op(x);
}

/** What a BatchNormalization layer exposes (its weights are public fields in tfjs-layers, untyped). */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: tf.LayerVariable;
  beta?: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** Whether {@link batchNormTraining} implements `layer` in training mode: channels-last. */
export function isChannelsLastBatchNorm(layer: tf.layers.Layer, rank: number): boolean {
  if (layer.getClassName() !== 'BatchNormalization') return false;
  const axis = (layer as unknown as BatchNormLayer).axis;
  return axis === -1 || axis === rank - 1;
}

/**
 * A channels-last BatchNormalization layer's training-mode call: normalizes with the batch's
 * biased variance and updates the moving averages exactly as tfjs-layers does
 * (`moving −= (moving − batch) · (1 − momentum)`), with one gradient for x, gamma and beta that
 * includes the path through the batch statistics.
 */
export function batchNormTraining(layer: tf.layers.Layer, x: tf.Tensor): tf.Tensor {
  const bn = layer as unknown as BatchNormLayer;
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const count = x.size / x.shape[x.rank - 1]!;
  const gamma = bn.gamma?.read();
  const beta = bn.beta?.read();
  let stats: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const op = tf.customGrad((...args) => {
    const save = args.pop() as GradSaveFunc;
    const [input] = args as tf.Tensor[];
    const { mean, variance } = tf.moments(input!, axes);
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    const y = tf.batchNorm(input!, mean, variance, beta, gamma, bn.epsilon);
    save([input!, mean, variance, ...(gamma ? [gamma] : [])]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [xs, m, v, scale] = saved as tf.Tensor[];
        const [dxc, dmean, dvar, dscale, doffset] = tf.engine().runKernel(
          BATCH_NORM_GRAD, { dy: dy as tf.Tensor, x: xs!, mean: m!, variance: v!, ...(scale ? { scale } : {}) },
          { varianceEpsilon: bn.epsilon },
        ) as tf.Tensor[];
        // The statistics depend on x: dmean reaches every element as dmean / count, and dvar
        // as dvar · 2(x − mean) / count (the mean's own path through the variance sums to 0).
        const dx = tf.tidy(() => tf.add(tf.add(dxc!, tf.div(dmean!, count)), tf.mul(tf.sub(xs!, m!), tf.mul(dvar!, 2 / count))));
        tf.dispose([dxc!, dmean!, dvar!]);
        releaseWhenDone(dy as tf.Tensor, saved, {});
        const grads = [dx];
        if (gamma) grads.push(dscale!);
        else dscale!.dispose();
        if (beta) grads.push(doffset!);
        else doffset!.dispose();
        return grads;
      },
    };
  });
  const y = op(...inputs);
  const { mean, variance } = stats!;
  tf.tidy(() => {
    for (const [variable, value] of [[bn.movingMean, mean], [bn.movingVariance, variance]] as const) {
      const moving = variable.read();
      variable.write(tf.sub(moving, tf.mul(tf.sub(moving, value), 1 - bn.momentum)));
    }
  });
  tf.dispose([mean, variance]);
  return y;
}

/** Whether `layer` is an `Activation` layer with ReLU6. */
export function isRelu6Activation(layer: tf.layers.Layer): boolean {
  return layer.getClassName() === 'Activation' && (layer.getConfig() as { activation?: unknown }).activation === 'relu6';
}

/** What a Conv2D layer exposes (public fields in tfjs-layers, untyped). */
interface ConvLayer {
  kernel: tf.LayerVariable;
  bias?: tf.LayerVariable | null;
  strides: [number, number];
  padding: string;
  dilationRate: [number, number];
  dataFormat: string;
}

/** Whether `layer` is a channels-last 2D convolution without bias and activation. */
export function isPlainConv2D(layer: tf.layers.Layer): boolean {
  if (layer.getClassName() !== 'Conv2D') return false;
  const conv = layer as unknown as ConvLayer;
  return conv.bias == null && conv.dataFormat === 'channelsLast' && (layer.getConfig() as { activation?: unknown }).activation === 'linear';
}

/** Such a layer's call through the Conv2D kernel (the same arithmetic as the fused kernel without bias). */
export function plainConv2D(layer: tf.layers.Layer, x: tf.Tensor): tf.Tensor {
  const conv = layer as unknown as ConvLayer;
  return tf.conv2d(x as tf.Tensor4D, conv.kernel.read() as tf.Tensor4D, conv.strides, conv.padding === 'same' ? 'same' : 'valid', 'NHWC', conv.dilationRate);
}
