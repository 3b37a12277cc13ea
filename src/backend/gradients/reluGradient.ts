import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import { MASK_GRAD, maskGradSupports, runMaskGrad } from '../kernels/maskGrad.js';
import type { MaskInterval } from '../simd/exports.js';
import { MaskFlag } from '../simd/ops.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/** ReLU's gradient in one pass instead of three: TF.js's dy · step(x), i.e. dy on (0, +inf], NaN at NaN. */
export function reluGradient(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      if (!useLibraryKernel(MASK_GRAD) || !maskGradSupports(dy as Tensor, x!)) return stock.gradFunc(dy, saved, attrs);
      const interval: MaskInterval = { lo: 0, hi: Infinity, flags: MaskFlag.HiClosed | MaskFlag.NanPropagates };
      return { x: () => runMaskGrad(dy as Tensor, x!, interval) };
    },
  };
}
