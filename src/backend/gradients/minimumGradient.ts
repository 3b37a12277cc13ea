import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { MASK_GRAD, maskGradSupports, runMaskGrad } from '../kernels/maskGrad.js';
import { MaskFlag } from '../simd/ops.js';
import { independentOfTape } from './releaseEarly.js';
import { useLibraryKernel } from './useLibraryKernel.js';

/**
 * Gradient of min(a, b) where one side is a single value c, as in Keras's ReLU6
 * (`minimum(6, relu(x))`): the tensor side gets dy where it is the minimum, in one pass instead
 * of four. TF.js gives a dy · (a ≤ b) and b dy · (a > b): ties go to a, NaN gets 0. Every
 * other case keeps TF.js's own gradient, and so does the single-value side, which TF.js does not
 * reduce to its shape: the engine rejects it. That rejection is raised here without reading dy,
 * so that the node's tensors are released without waiting for a closure the engine calls only
 * to fail (for a constant c, never).
 */
export function minimumGradient(stock: GradConfig): GradConfig {
  return {
    kernelName: 'Minimum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const grads = stock.gradFunc(dy, saved, attrs);
      const [a, b] = saved as Tensor[];
      const d = dy as Tensor;
      if (!useLibraryKernel(MASK_GRAD) || a!.dtype !== 'float32' || b!.dtype !== 'float32') return grads;
      const mask = (x: Tensor, c: Tensor, flags: MaskFlag) => () => runMaskGrad(d, x, { lo: -Infinity, hi: c.dataSync()[0]!, flags });
      const unreduced = (name: string, c: Tensor) => tf.util.arraysEqual(c.shape, d.shape) ? grads[name]! : independentOfTape(() => {
        throw new Error(`Error in gradient for op Minimum. The gradient of input '${name}' has shape '${d.shape}', which does not match the shape of the input '${c.shape}'`);
      });
      if (b!.size === 1 && maskGradSupports(d, a!)) return { a: mask(a!, b!, MaskFlag.LoClosed | MaskFlag.HiClosed /* [-inf, c] */), b: unreduced('b', b!) };
      if (a!.size === 1 && maskGradSupports(d, b!)) return { a: unreduced('a', a!), b: mask(b!, a!, MaskFlag.LoClosed /* [-inf, c) */) };
      return grads;
    },
  };
}
