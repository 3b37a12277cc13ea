import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { AdamScalars } from '../simd/exports.js';
import type { SimdKernel } from './simdKernel.js';
import { float32, sameShape, sizeOf } from './validate.js';

/** Name of this library's kernel for one Adam step of one variable: outputs [value, m, v]. */
export const ADAM = 'MobileNetV2Adam';

/** The kernel's attrs: the step's scalars. */
export type AdamAttrs = AdamScalars;

interface AdamInputs {
  value: TensorInfo;
  m: TensorInfo;
  v: TensorInfo;
  gradient: TensorInfo;
}

/** Whether {@link adam} takes these inputs (fusedAdam.ts runs TF.js's step otherwise). */
export const adamSupports = ({ value, m, v, gradient }: AdamInputs): boolean =>
  float32(value, m, v, gradient) && [m, v, gradient].every((t) => sameShape(t.shape, value.shape));

export const adam: SimdKernel<AdamInputs, AdamAttrs> = {
  kernelName: ADAM,
  run(heap, inputs, attrs) {
    const { beta1, beta2, biasCorrection1, biasCorrection2, epsilon, learningRate } = attrs;
    if (!adamSupports(inputs) || ![beta1, beta2, biasCorrection1, biasCorrection2, epsilon, learningRate].every((a) => typeof a === 'number')) {
      return null;
    }
    const { value, m, v, gradient } = inputs;
    const size = sizeOf(value.shape);
    return heap.run([value, m, v, gradient], [value.shape, value.shape, value.shape], (k, [w, m1, v1, g], [w2, m2, v2]) =>
      k.adam({
        value: w!, m: m1!, v: v1!, gradient: g!, newValue: w2!, newM: m2!, newV: v2!, size,
        beta1, beta2, biasCorrection1, biasCorrection2, epsilon, learningRate,
      }),
    );
  },
};
