import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { MASK_GRAD, maskGradSupports } from '../kernels/maskGrad.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/** ReLU's gradient in one pass instead of three: TF.js's dy · step(x), i.e. dy on (0, +inf], NaN at NaN. */
export function reluGradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      if (!useLibraryKernel(MASK_GRAD) || !maskGradSupports(dy as Tensor, x!)) return stock.gradFunc(dy, saved, attrs);
      const interval = { lo: 0, hi: Infinity, closed: 2 /* (0, inf] */ | 4 /* NaN at NaN */ };
      return { x: () => tf.engine().runKernel(MASK_GRAD, { dy: dy as Tensor, x: x! }, interval) as Tensor };
    },
  };
}
