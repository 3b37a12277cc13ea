import { tf } from '../tf.js';

/**
 * Supplies initializers that reproduce the seed's (torchvision's) initialization, using stock
 * TF.js initializer classes so that a saved model.json needs nothing from this library.
 *
 * A seed makes a build reproducible: each initializer gets its own seed, derived in build order.
 */
export class Init {
  private next: number | undefined;

  constructor(seed?: number) {
    this.next = seed;
  }

  private seed(): number | undefined {
    if (this.next === undefined) return undefined;
    return this.next++;
  }

  /**
   * PyTorch's `kaiming_normal_(mode='fan_out')`: an untruncated normal with std sqrt(2 / fan_out).
   * PyTorch computes fan_out as out_channels × kernel area for every conv, depthwise included,
   * whereas Keras's `heNormal`/`varianceScaling` uses the last kernel axis (the depth multiplier,
   * 1, for depthwise) and truncates, so we pass the std explicitly.
   */
  kaimingNormalFanOut(outChannels: number, kernelSize: number): ReturnType<typeof tf.initializers.randomNormal> {
    const fanOut = outChannels * kernelSize * kernelSize;
    return tf.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / fanOut), seed: this.seed() });
  }

  /** The seed's Linear init: N(0, 0.01). */
  dense(): ReturnType<typeof tf.initializers.randomNormal> {
    return tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: this.seed() });
  }
}
