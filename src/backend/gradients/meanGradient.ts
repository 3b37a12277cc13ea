import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { MEAN_GRAD, meanGradSupports } from '../kernels/meanGrad.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/**
 * Mean's gradient over a run of consecutive axes (leading: BatchNorm's batch statistics;
 * spatial: global average pooling) in one pass; TF.js's fills a tensor of ones, multiplies with
 * a broadcast and divides. Other axes keep TF.js's gradient.
 */
export function meanGradient(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x!.shape).sort((p, q) => p - q);
      const start = axes[0] ?? 0;
      const run = { shape: x!.shape, start, end: start + axes.length };
      const consecutive = axes.every((a, i) => a === start + i);
      if (!consecutive || x!.dtype !== 'float32' || !useLibraryKernel(MEAN_GRAD) || !meanGradSupports(dy as Tensor, run)) {
        return stock.gradFunc(dy, saved, attrs);
      }
      return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy: dy as Tensor }, run) as Tensor };
    },
  };
}
