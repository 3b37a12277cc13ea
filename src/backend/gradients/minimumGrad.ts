import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { MASK_GRAD } from '../kernels/maskGrad.js';
import { hasKernel } from './hasKernel.js';

/**
 * Gradient of min(a, b) where one side is a single value c, as in Keras's ReLU6
 * (`minimum(6, relu(x))`): the tensor side gets dy where it is the minimum, in one pass instead
 * of four. Ties go to a, as in TF.js (a ≤ b picks a). The single-value side, and every other
 * case, keeps TF.js's own gradient.
 */
export function minimumGradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Minimum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const grads = stock.gradFunc(dy, saved, attrs);
      const [a, b] = saved as Tensor[];
      const d = dy as Tensor;
      if (!hasKernel(MASK_GRAD) || a!.dtype !== 'float32' || b!.dtype !== 'float32') return grads;
      if (b!.size === 1 && tf.util.arraysEqual(a!.shape, d.shape)) {
        const c = b!.dataSync()[0]!;
        return { ...grads, a: () => tf.engine().runKernel(MASK_GRAD, { dy: d, x: a! }, { lo: -Infinity, hi: c, closed: 2 }) as Tensor };
      }
      if (a!.size === 1 && tf.util.arraysEqual(b!.shape, d.shape)) {
        const c = a!.dataSync()[0]!;
        return { ...grads, b: () => tf.engine().runKernel(MASK_GRAD, { dy: d, x: b! }, { lo: -Infinity, hi: c, closed: 0 }) as Tensor };
      }
      return grads;
    },
  };
}
