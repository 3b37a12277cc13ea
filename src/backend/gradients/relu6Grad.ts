import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { MASK_GRAD } from '../kernels/maskGrad.js';
import { hasKernel } from './hasKernel.js';

/** ReLU6's gradient in one pass instead of TF.js's five ops; same boundaries (0 at x = 0, 1 at x = 6). */
export function relu6GradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Relu6',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      if (!hasKernel(MASK_GRAD)) return stock.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(MASK_GRAD, { dy: dy as Tensor, x: x! }, { lo: 0, hi: 6, closed: 2 /* (0, 6] */ }) as Tensor };
    },
  };
}
