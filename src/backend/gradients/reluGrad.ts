import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { MASK_GRAD } from '../kernels/maskGrad.js';
import { hasKernel } from './hasKernel.js';

/** ReLU's gradient in one pass instead of three (step, cast, mul): dy where x > 0. */
export function reluGradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      if (!hasKernel(MASK_GRAD) || x!.dtype !== 'float32') return stock.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(MASK_GRAD, { dy: dy as Tensor, x: x! }, { lo: 0, hi: Infinity, closed: 0 }) as Tensor };
    },
  };
}
