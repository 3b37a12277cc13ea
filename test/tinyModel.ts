import { tf } from '../src/tf.js';

/**
 * A small conv net with the layer kinds that matter to training (conv, BatchNorm, dropout,
 * dense), for trainer tests that need many steps on 2 CPU cores.
 */
export function tinyModel(seed: number, dropout = 0): tf.LayersModel {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed * 10 + i });
  const input = tf.input({ shape: [28, 28, 1] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false, kernelInitializer: init(0), name: 'conv_a' }).apply(input);
  x = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: 'bn_a' }).apply(x);
  x = tf.layers.activation({ activation: 'relu6', name: 'relu_a' }).apply(x);
  x = tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, useBias: false, kernelInitializer: init(1), name: 'conv_b' }).apply(x);
  x = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: 'bn_b' }).apply(x);
  x = tf.layers.activation({ activation: 'relu6', name: 'relu_b' }).apply(x);
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x);
  x = tf.layers.dropout({ rate: dropout, name: 'dropout' }).apply(x);
  const out = tf.layers.dense({ units: 10, kernelInitializer: init(2), name: 'predictions' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Every weight of a model, by name, as plain arrays. */
export async function weightValues(model: tf.LayersModel): Promise<Record<string, Float32Array>> {
  const entries = await Promise.all(model.weights.map(async (w) => [w.originalName, (await w.read().data()) as Float32Array] as const));
  return Object.fromEntries(entries);
}
