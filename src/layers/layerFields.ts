import type { tf } from '../tf.js';

// Typed views of the public fields that tfjs-layers keeps on its layers but leaves out of its
// .d.ts. The trainer's lean ops (training/trainingOps.ts) and the inference plan
// (predict/inferencePlan.ts) read a model's own layers through these, never patching them.

/** What Conv2D and DepthwiseConv2D expose: `kernel` on the one, `depthwiseKernel` on the other. */
export interface ConvLayerFields {
  kernel?: tf.LayerVariable;
  depthwiseKernel?: tf.LayerVariable;
  bias?: tf.LayerVariable | null;
  strides: [number, number];
  padding: string;
  dilationRate: number | [number, number];
  dataFormat: string;
}

/** What BatchNormalization exposes. `gamma` and `beta` are absent with `scale: false` / `center: false`. */
export interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: tf.LayerVariable | null;
  beta?: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** The layer's `activation` config ('linear', 'relu6', ...), or undefined for layers without one. */
export function activationOf(layer: tf.layers.Layer): string | undefined {
  return (layer.getConfig() as { activation?: unknown }).activation as string | undefined;
}

/** Whether `layer` is a BatchNormalization over the last axis of a rank-`rank` input (channels-last). */
export function isChannelsLastBatchNorm(layer: tf.layers.Layer, rank: number): boolean {
  if (layer.getClassName() !== 'BatchNormalization') return false;
  const axis = (layer as unknown as BatchNormFields).axis;
  return axis === -1 || axis === rank - 1;
}
