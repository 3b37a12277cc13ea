import type { GradSaveFunc } from '@tensorflow/tfjs-core';
import { releaseWhenDone } from '../backend/gradients/releaseEarly.js';
import { BATCH_MOMENTS, batchMomentsSupports } from '../backend/kernels/batchMoments.js';
import { BATCH_NORM_GRAD } from '../backend/kernels/batchNormGrad.js';
import { MASK_GRAD } from '../backend/kernels/maskGrad.js';
import { MOVING_AVERAGES, movingAveragesSupports } from '../backend/kernels/movingAverages.js';
import { float32 } from '../backend/kernels/validate.js';
import type { BoundBatchNorm } from '../models/boundArchitecture.js';
import { tf } from '../tf.js';

/**
 * Training-mode replacements for three stock layers' `call`, used by `applyModel` on the backends
 * that have this library's kernels. Same forward arithmetic as the layers (the same kernels in
 * the same order), fewer tensors saved for the backward pass:
 *
 * - Keras's ReLU6 is `minimum(6, relu(x))`: the tape keeps relu's input and minimum's input,
 *   two full-size copies, where the output alone decides the gradient (0 < y < 6).
 * - BatchNormalization's batch statistics go through `moments`, whose Sub, Square and Mean keep
 *   x − mean and its square, two more full-size copies, only to route the gradient of the
 *   variance; here one kernel computes the statistics and one gradient kernel covers them,
 *   keeping only x.
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

/** The axes of every dimension but the last: a channels-last tensor's batch statistics reduce over them. */
const leadingAxes = (x: tf.Tensor) => Array.from({ length: x.rank - 1 }, (_, i) => i);

/**
 * `tf.moments(x, leadingAxes)`: per-channel mean and biased variance of a channels-last tensor,
 * in one pass of one kernel where the backend has it (`moments` makes four passes and two
 * full-size temporaries). The kernel has no gradient, so with the tape on (and for input it
 * does not take: empty, not float32) this is `tf.moments` itself.
 */
export function batchMoments(x: tf.Tensor): { mean: tf.Tensor; variance: tf.Tensor } {
  if (!hasKernel(BATCH_MOMENTS) || tf.engine().isTapeOn() || !batchMomentsSupports(x)) return tf.moments(x, leadingAxes(x));
  const [mean, variance] = tf.engine().runKernel(BATCH_MOMENTS, { x }) as tf.Tensor[];
  return { mean: mean!, variance: variance! };
}

/**
 * Channels-last batch normalization with the batch's own statistics, as a BatchNormalization
 * layer computes it in training: returns y and the statistics (the caller disposes them). One
 * gradient for x, gamma and beta, written in one kernel, includes the path through the
 * statistics and keeps only x and the statistics on the tape. Where the kernels are missing or
 * do not take x (empty, not float32), the stock ops run instead, on the tape.
 */
export function batchNormWithBatchStatistics(
  x: tf.Tensor, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined, epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  if (!hasKernel(BATCH_NORM_GRAD) || !hasKernel(BATCH_MOMENTS) || !batchMomentsSupports(x) || !float32(gamma, beta)) {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, leadingAxes(x));
      // Stock FusedBatchNorm's gradient fails without a scale or an offset: ones and zeros stand in.
      return { y: tf.batchNorm(x, mean, variance, beta ?? tf.zerosLike(mean), gamma ?? tf.onesLike(mean), epsilon), mean, variance };
    });
  }
  let stats: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const op = tf.customGrad((...args) => {
    const save = args.pop() as GradSaveFunc;
    const [input] = args as tf.Tensor[];
    const { mean, variance } = batchMoments(input!);
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    const y = tf.batchNorm(input!, mean, variance, beta, gamma, epsilon);
    save([input!, mean, variance, ...(gamma ? [gamma] : [])]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [xs, m, v, scale] = saved as tf.Tensor[];
        const [dx, dmean, dvar, dscale, doffset] = tf.engine().runKernel(
          BATCH_NORM_GRAD, { dy: dy as tf.Tensor, x: xs!, mean: m!, variance: v!, ...(scale ? { scale } : {}) },
          { varianceEpsilon: epsilon, batchStatistics: true },
        ) as tf.Tensor[];
        tf.dispose([dmean!, dvar!]);
        releaseWhenDone(dy as tf.Tensor, saved, {});
        const grads = [dx!];
        if (gamma) grads.push(dscale!);
        else dscale!.dispose();
        if (beta) grads.push(doffset!);
        else doffset!.dispose();
        return grads;
      },
    };
  });
  const y = op(...inputs);
  return { y, ...stats! };
}

/**
 * The updated moving statistics of a BatchNormalization layer in training, each
 * `moving − (moving − batch)·(1 − momentum)` as tfjs-layers computes it, from one kernel where
 * the backend has it. Returns new tensors [movingMean', movingVariance'].
 */
export function movingAverages(
  movingMean: tf.Tensor, movingVariance: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, momentum: number,
): [tf.Tensor, tf.Tensor] {
  const inputs = { movingMean, movingVariance, mean, variance };
  if (hasKernel(MOVING_AVERAGES) && movingAveragesSupports(inputs, momentum)) {
    return tf.engine().runKernel(MOVING_AVERAGES, inputs, { momentum }) as [tf.Tensor, tf.Tensor];
  }
  const update = (moving: tf.Tensor, batch: tf.Tensor) => tf.tidy(() => tf.sub(moving, tf.mul(tf.sub(moving, batch), 1 - momentum)));
  return [update(movingMean, mean), update(movingVariance, variance)];
}

/**
 * A channels-last BatchNormalization layer's training-mode call: normalizes with the batch's
 * biased variance and updates the moving averages exactly as tfjs-layers does
 * (`moving −= (moving − batch) · (1 − momentum)`), with one gradient for x, gamma and beta that
 * includes the path through the batch statistics.
 */
export function batchNormTraining(bn: BoundBatchNorm, x: tf.Tensor): tf.Tensor {
  const { y, mean, variance } = batchNormWithBatchStatistics(x, bn.gamma.read(), bn.beta.read(), bn.epsilon);
  const updated = movingAverages(bn.movingMean.read(), bn.movingVariance.read(), mean, variance, bn.momentum);
  bn.movingMean.write(updated[0]);
  bn.movingVariance.write(updated[1]);
  tf.dispose([mean, variance, ...updated]);
  return y;
}

/** A bias-free, linear Conv2D layer's call through the Conv2D kernel (the same arithmetic as the fused kernel without bias). */
export function plainConv2D(x: tf.Tensor, kernel: tf.LayerVariable, stride: number, padding: 'same' | 'valid'): tf.Tensor {
  return tf.conv2d(x as tf.Tensor4D, kernel.read() as tf.Tensor4D, stride, padding);
}
