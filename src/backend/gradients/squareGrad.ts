import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { SQUARE_GRAD } from '../kernels/square.js';
import { hasKernel } from './hasKernel.js';

/** Square's gradient (BatchNorm's variance) in one pass instead of a cast and two multiplies. */
export function squareGradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Square',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      if (x!.dtype !== 'float32' || !hasKernel(SQUARE_GRAD)) return stock.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(SQUARE_GRAD, { dy: dy as Tensor, x: x! }) as Tensor };
    },
  };
}
