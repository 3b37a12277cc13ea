import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { InputError, received } from '../../errors.js';
import { checkRate } from '../../models/options.js';
import { ADAM, type AdamAttrs, adamSupports } from '../kernels/adam.js';

/** A tensor with its name, as optimizers' weights and gradient lists hold them (tfjs-core does not export the type). */
type NamedTensor = { name: string; tensor: Tensor };

/** One slot of the optimizer: a moment of one variable, named as TF.js names it (`<variable>/m`, `<variable>/v`). */
interface Slot {
  originalName: string;
  variable: Variable;
}

/**
 * Adam with TF.js's arithmetic, slots and weights, whose step is one kernel per variable on the
 * backends that have this library's kernels (wasm, cpu): TF.js's own AdamOptimizer runs 14 ops
 * per variable, about 1,300 kernel calls and 14 passes over every weight per MobileNetV2-MNIST
 * step, instead of 95 calls and one pass. Elsewhere (tensorflow, webgl) and for variables the
 * kernel does not take, it runs TF.js's ops in TF.js's order. `train()` uses it; `model.compile`
 * takes it too (see {@link fusedAdam}). A plain `tf.train.adam` stays TF.js's own.
 *
 * Compatible with `tf.AdamOptimizer` where it matters: the same results, to the bit on IEEE
 * float32 backends; `getWeights()` returns the iteration count and then every `/m` and every
 * `/v` slot, in TF.js's order and names, and `setWeights()` takes what either optimizer saved;
 * the config is Adam's (`learningRate`, `beta1`, `beta2`, `epsilon`). Registered for
 * serialization as 'MobileNetV2FusedAdam': a model compiled with it and saved with
 * `includeOptimizer: true` loads back with this optimizer where this library is imported (and
 * not in a process with stock TF.js only, which does not know the name).
 *
 * Like TF.js's, the slots follow the position of each variable in the gradient list, so pass
 * the same variables in the same order at every step.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** The serialization name (TF.js's own Adam is 'Adam'). */
  static override get className(): string {
    return 'MobileNetV2FusedAdam';
  }

  /**
   * By prototype chain: tfjs-core answers `instanceof` for its optimizer classes by duck typing,
   * so that without this every optimizer would pass for this one.
   */
  static [Symbol.hasInstance](instance: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, instance);
  }

  #firstMoments: Slot[] = [];
  #secondMoments: Slot[] = [];
  /** β1^t and β2^t for the next step t, as the float32 values TF.js's accBeta1/accBeta2 variables hold. */
  #power1: number;
  #power2: number;

  constructor(learningRate: number, beta1: number, beta2: number, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
    this.#power1 = Math.fround(beta1);
    this.#power2 = Math.fround(beta2);
  }

  /** Sets the rate of the next step (schedules call it before every step). */
  setLearningRate(learningRate: number): void {
    this.learningRate = learningRate;
  }

  override applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const gradients = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const fused = tf.getKernel(ADAM, tf.getBackend()) !== undefined;
    const attrs: AdamAttrs = {
      beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, learningRate: this.learningRate,
      // TF.js computes 1 − β^t as float32 tensors: sub(1, accBeta).
      biasCorrection1: Math.fround(1 - this.#power1), biasCorrection2: Math.fround(1 - this.#power2),
    };
    tf.tidy(() => {
      gradients.forEach(({ name, tensor: gradient }, i) => {
        const value = tf.engine().registeredVariables[name];
        if (value === undefined) throw new InputError(`applyGradients: no variable is named ${received(name)}`);
        const m = (this.#firstMoments[i] ??= slot(`${name}/m`, value)).variable;
        const v = (this.#secondMoments[i] ??= slot(`${name}/v`, value)).variable;
        if (gradient == null) return;
        if (fused && adamSupports({ value, m, v, gradient })) {
          // New outputs, then assign: variables' buffers may be shared (Identity shares on wasm).
          const [newValue, newM, newV] = tf.engine().runKernel(ADAM, { value, m, v, gradient }, { ...attrs }) as Tensor[];
          m.assign(newM!);
          v.assign(newV!);
          value.assign(newValue!);
        } else {
          adamOps(value, m, v, gradient, attrs);
        }
      });
    });
    // TF.js: accBeta.assign(mul(accBeta, beta)), a float32 product.
    this.#power1 = Math.fround(this.#power1 * Math.fround(this.beta1));
    this.#power2 = Math.fround(this.#power2 * Math.fround(this.beta2));
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const slots = [...this.#firstMoments, ...this.#secondMoments];
    return [await this.saveIterations(), ...slots.map((s) => ({ name: s.originalName, tensor: s.variable }))];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const slots = await this.extractIterations(weightValues);
    // As TF.js's setWeights: β^(t+1) by the backend's Pow, so that a resumed run continues with
    // the very bias corrections an uninterrupted one would have.
    const powers = tf.tidy(() => [tf.pow(this.beta1, this.iterations + 1), tf.pow(this.beta2, this.iterations + 1)]);
    const [power1, power2] = await Promise.all(powers.map(async (p) => (await p.data())[0]!));
    tf.dispose(powers);
    this.#power1 = power1!;
    this.#power2 = power2!;
    tf.dispose([...this.#firstMoments, ...this.#secondMoments].map((s) => s.variable));
    const toSlot = ({ name, tensor }: NamedTensor): Slot => ({ originalName: name, variable: tensor.variable(false /* trainable */) });
    // Split as TF.js splits, odd counts included (tfjs-core's own specs load Adagrad's weights into Adam).
    const count = slots.length / 2;
    this.#firstMoments = slots.slice(0, count).map(toSlot);
    this.#secondMoments = slots.slice(count, count * 2).map(toSlot);
  }

  override dispose(): void {
    tf.dispose([...this.#firstMoments, ...this.#secondMoments].map((s) => s.variable));
    this.#firstMoments = [];
    this.#secondMoments = [];
    super.dispose();
  }
}

// TF.js's serialization registry: how `model.compile`'s optimizer round-trips through
// model.json's training config, by the class name above.
tf.serialization.registerClass(FusedAdamOptimizer);

function slot(originalName: string, value: Variable): Slot {
  return { originalName, variable: tf.tidy(() => tf.zerosLike(value).variable(false /* trainable */)) };
}

/** TF.js's AdamOptimizer step for one variable, op by op in its order (the fallback of the kernel). */
function adamOps(value: Variable, m: Variable, v: Variable, gradient: Tensor, attrs: AdamAttrs): void {
  const { beta1, beta2, biasCorrection1, biasCorrection2, epsilon, learningRate } = attrs;
  const newM = tf.add(tf.mul(m, beta1), tf.mul(gradient, 1 - beta1));
  const newV = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gradient), 1 - beta2));
  const correctedM = tf.div(newM, biasCorrection1);
  const correctedV = tf.div(newV, biasCorrection2);
  m.assign(newM);
  v.assign(newV);
  value.assign(tf.add(tf.mul(tf.div(correctedM, tf.add(tf.sqrt(correctedV), epsilon)), -learningRate), value));
}

/**
 * An Adam optimizer for `model.compile` or a custom loop, with the arguments and defaults of
 * `tf.train.adam`, that steps with one kernel per variable on wasm and cpu (see
 * {@link FusedAdamOptimizer}).
 *
 * @param learningRate Default 0.001.
 * @param beta1 Decay of the first moment, in [0, 1). Default 0.9.
 * @param beta2 Decay of the second moment, in [0, 1). Default 0.999.
 * @param epsilon Added to the denominator, outside the square root, after bias correction (as
 *   in TF.js and PyTorch). Default: the backend's epsilon, as `tf.train.adam` (PyTorch's is 1e-8).
 * @returns A new optimizer; dispose it when done.
 *
 * @example
 * model.compile({ optimizer: fusedAdam(1e-3), loss: 'categoricalCrossentropy' });
 * await model.fit(xs, ys, { epochs: 5 });
 */
export function fusedAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, checkRate('beta1', beta1), checkRate('beta2', beta2), epsilon);
}
