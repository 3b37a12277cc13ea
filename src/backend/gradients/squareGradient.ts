import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { SQUARE_GRAD, squareGradSupports } from '../kernels/square.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/** Square's gradient (BatchNorm's variance) in one pass instead of a cast and two multiplies. */
export function squareGradient(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Square',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      if (!useLibraryKernel(SQUARE_GRAD) || !squareGradSupports(dy as Tensor, x!)) return stock.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(SQUARE_GRAD, { dy: dy as Tensor, x: x! }) as Tensor };
    },
  };
}
