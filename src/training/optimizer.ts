import { FusedAdamOptimizer } from '../backend/optimizers/fusedAdam.js';
import { InputError, received } from '../errors.js';
import { tf } from '../tf.js';

export type OptimizerName = 'adam' | 'sgd';

/** The optimizers of `train`: Adam with PyTorch's epsilon (its one-kernel step), or SGD with momentum 0.9. */
export function createOptimizer(name: OptimizerName): tf.Optimizer {
  switch (name) {
    case 'adam':
      return new FusedAdamOptimizer(1e-3, 0.9 /* beta1 */, 0.999 /* beta2 */, 1e-8 /* epsilon, PyTorch's */);
    case 'sgd':
      return tf.train.momentum(1e-2, 0.9 /* momentum */);
    default:
      throw new InputError(`optimizer must be 'adam' or 'sgd'; received \`optimizer=${received(name)}\``);
  }
}

/** Sets the rate of the next step of an optimizer made by {@link createOptimizer}. */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // Both have a setter (MomentumOptimizer's, from SGDOptimizer, also replaces the scalar its step
  // reads). By duck typing: tfjs-core's optimizer classes answer `instanceof` for any optimizer.
  if ('setLearningRate' in optimizer && typeof optimizer.setLearningRate === 'function') optimizer.setLearningRate(lr);
  else throw new Error(`bug: setLearningRate got a ${optimizer.getClassName()} optimizer, which createOptimizer does not make`);
}

