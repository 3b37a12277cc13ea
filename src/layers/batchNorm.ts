/**
 * BatchNorm settings. Defaults are PyTorch's, not Keras's: Keras's epsilon 1e-3 changes the
 * numbers of a converted torchvision model, and its momentum 0.999 makes the running statistics
 * lag far behind the weights in a short run (a 3-epoch MNIST run would evaluate with statistics
 * that are still mostly the initial 0/1).
 */
export interface BatchNormOptions {
  /** Added to the variance before the square root. Default 1e-5 (PyTorch). */
  epsilon?: number;
  /**
   * Weight of the new batch statistic in the running average, in PyTorch's convention:
   * running = (1 − momentum) · running + momentum · batch. Default 0.1. (TF.js/Keras express
   * the same thing as `1 − momentum`, i.e. 0.9.)
   */
  momentum?: number;
}

export const BATCH_NORM_DEFAULTS: Required<BatchNormOptions> = { epsilon: 1e-5, momentum: 0.1 };
