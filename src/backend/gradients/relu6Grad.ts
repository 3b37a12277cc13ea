import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../../tf.js';
import { RELU6_GRAD } from '../kernels/relu6Grad.js';
import { hasKernel } from './hasKernel.js';

/**
 * ReLU6's gradient as one kernel instead of TF.js's four (lessEqual, step, mul, cast, mul).
 * Same boundaries: the gradient is 0 at x = 0 and 1 at x = 6.
 */
export function relu6GradConfig(stock: GradConfig | undefined): GradConfig {
  return {
    kernelName: 'Relu6',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      if (!hasKernel(RELU6_GRAD) && stock) return stock.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(RELU6_GRAD, { dy: dy as Tensor, x: x! }) as Tensor };
    },
  };
}
