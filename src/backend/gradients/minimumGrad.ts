import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import { MASK_GRAD, maskGradSupports, runMaskGrad } from '../kernels/maskGrad.js';
import { MaskFlag } from '../simd/ops.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/**
 * Gradient of min(a, b) where one side is a single value c, as in Keras's ReLU6
 * (`minimum(6, relu(x))`): the tensor side gets dy where it is the minimum, in one pass instead
 * of four. TF.js gives a dy · (a ≤ b) and b dy · (a > b): ties go to a, NaN gets 0. The
 * single-value side, and every other case, keeps TF.js's own gradient.
 */
export function minimumGradConfig(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Minimum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const grads = stock.gradFunc(dy, saved, attrs);
      const [a, b] = saved as Tensor[];
      const d = dy as Tensor;
      if (!useLibraryKernel(MASK_GRAD) || a!.dtype !== 'float32' || b!.dtype !== 'float32') return grads;
      const mask = (x: Tensor, c: Tensor, flags: MaskFlag) => () => runMaskGrad(d, x, { lo: -Infinity, hi: c.dataSync()[0]!, flags });
      if (b!.size === 1 && maskGradSupports(d, a!)) return { ...grads, a: mask(a!, b!, MaskFlag.LoClosed | MaskFlag.HiClosed /* [-inf, c] */) };
      if (a!.size === 1 && maskGradSupports(d, b!)) return { ...grads, b: mask(b!, a!, MaskFlag.LoClosed /* [-inf, c) */) };
      return grads;
    },
  };
}
