import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_GRAD, batchNormGradSupports } from '../kernels/batchNormGrad.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/**
 * FusedBatchNorm's gradient for every input from one kernel pass. TF.js's stock gradient tiles
 * rsqrt(variance) to x's full shape and runs about ten full-size ops; it stays in charge of
 * the cases the kernel does not cover (per-element mean/variance, other backends).
 */
export function fusedBatchNormGradient(stock: GradConfig): GradConfig {
  return {
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as (Tensor | undefined)[];
      const inputs = { dy: dy as Tensor, x: x!, mean: mean!, variance: variance!, ...(scale ? { scale } : {}) };
      if (!useLibraryKernel(BATCH_NORM_GRAD) || !batchNormGradSupports(inputs)) return stock.gradFunc(dy, saved, attrs);
      // Computed here, not inside the per-input closures: the engine runs each closure in its own
      // tidy, which would dispose the outputs that the other closures return.
      const grads = tf.engine().runKernel(BATCH_NORM_GRAD, inputs, { varianceEpsilon: attrs.varianceEpsilon as number }) as Tensor[];
      const grad = (i: number) => () => grads[i]!;
      return { x: grad(0), mean: grad(1), variance: grad(2), scale: grad(3), offset: grad(4) };
    },
  };
}
