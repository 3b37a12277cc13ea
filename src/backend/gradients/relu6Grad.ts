import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { MASK_GRAD, maskGradSupports } from '../kernels/maskGrad.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/** ReLU6's gradient in one pass instead of TF.js's five ops; same values (dy on (0, 6], NaN at NaN). */
export function relu6GradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Relu6',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      if (!useLibraryKernel(MASK_GRAD) || !maskGradSupports(dy as Tensor, x!)) return stock.gradFunc(dy, saved, attrs);
      const interval = { lo: 0, hi: 6, closed: 2 /* (0, 6] */ | 4 /* NaN at NaN */ };
      return { x: () => tf.engine().runKernel(MASK_GRAD, { dy: dy as Tensor, x: x! }, interval) as Tensor };
    },
  };
}
