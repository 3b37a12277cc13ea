import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import { MASK_GRAD, maskGradSupports, runMaskGrad } from '../kernels/maskGrad.js';
import type { MaskInterval } from '../simd/exports.js';
import { MaskFlag } from '../simd/ops.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/** ReLU6's gradient in one pass instead of TF.js's five ops; same values (dy on (0, 6], NaN at NaN). */
export function relu6Gradient(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Relu6',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      if (!useLibraryKernel(MASK_GRAD) || !maskGradSupports(dy as Tensor, x!)) return stock.gradFunc(dy, saved, attrs);
      const interval: MaskInterval = { lo: 0, hi: 6, flags: MaskFlag.HiClosed | MaskFlag.NanPropagates };
      return { x: () => runMaskGrad(dy as Tensor, x!, interval) };
    },
  };
}
