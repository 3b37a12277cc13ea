import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { MEAN_GRAD, meanGradSupports } from '../kernels/meanGrad.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/**
 * Mean's gradient over leading axes (BatchNorm's batch statistics, twice per layer) in one pass;
 * TF.js's fills a tensor of ones, multiplies and divides. Other axes keep TF.js's gradient.
 */
export function meanGradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x!.shape).sort((p, q) => p - q);
      const leading = axes.every((a, i) => a === i);
      if (!leading || x!.dtype !== 'float32' || !useLibraryKernel(MEAN_GRAD) || !meanGradSupports(dy as Tensor, x!.shape)) {
        return stock.gradFunc(dy, saved, attrs);
      }
      return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy: dy as Tensor }, { shape: x!.shape }) as Tensor };
    },
  };
}
