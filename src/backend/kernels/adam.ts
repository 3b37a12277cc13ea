import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';

/** Name of this library's kernel for one Adam step of one variable: outputs [value, m, v]. */
export const ADAM = 'MobileNetV2Adam';

export interface AdamAttrs {
  beta1: number;
  beta2: number;
  /** 1 − β1^t and 1 − β2^t, as float32 values (TF.js computes them as float32 tensors). */
  biasCorrection1: number;
  biasCorrection2: number;
  epsilon: number;
  learningRate: number;
}

export const adam: SimdKernel<{ value: TensorInfo; m: TensorInfo; v: TensorInfo; gradient: TensorInfo }, AdamAttrs> = {
  kernelName: ADAM,
  run(heap, { value, m, v, gradient }, { beta1, beta2, biasCorrection1, biasCorrection2, epsilon, learningRate }) {
    const n = value.shape.reduce((a, b) => a * b, 1);
    return heap.run([value, m, v, gradient], [value.shape, value.shape, value.shape], (k, [w, m1, v1, g], [w2, m2, v2]) =>
      // 1 − β is rounded to float32 from a double, as TF.js does when it makes the scalar tensor.
      k.adam(w!, m1!, v1!, g!, w2!, m2!, v2!, n, beta1, 1 - beta1, beta2, 1 - beta2, biasCorrection1, biasCorrection2, epsilon, -learningRate),
    );
  },
};
