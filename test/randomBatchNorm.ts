import { tf } from '../src/tf.js';

/** Gives every BatchNormalization non-trivial statistics: γ in [0.5, 1.5], β and mean around 0, variance in [0.2, 2]. */
export function randomizeBatchNorm(model: tf.LayersModel, seed: number): void {
  let s = seed;
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const values = layer.weights.map((w) => {
      const shape = w.shape as number[];
      const name = w.originalName.split('/').at(-1)!;
      s++;
      if (name.startsWith('gamma')) return tf.randomUniform(shape, 0.5, 1.5, 'float32', s);
      if (name.startsWith('moving_variance')) return tf.randomUniform(shape, 0.2, 2, 'float32', s);
      return tf.randomNormal(shape, 0, 0.5, 'float32', s);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}
