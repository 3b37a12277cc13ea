import { InputError, received } from '../errors.js';
import { tf } from '../tf.js';

export type OptimizerName = 'adam' | 'sgd';

/** The optimizers of `train`: Adam with PyTorch's epsilon, or SGD with momentum 0.9. */
export function createOptimizer(name: OptimizerName): tf.Optimizer {
  switch (name) {
    case 'adam':
      return tf.train.adam(1e-3, 0.9 /* beta1 */, 0.999 /* beta2 */, 1e-8 /* epsilon, PyTorch's */);
    case 'sgd':
      return tf.train.momentum(1e-2, 0.9 /* momentum */);
    default:
      throw new InputError(`optimizer must be 'adam' or 'sgd'; received \`optimizer=${received(name)}\``);
  }
}

// TF.js optimizers read their rate from this field at every step but offer no setter for it
// (SGD aside), so schedules write it directly.
/** Sets the rate of the next step. */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

