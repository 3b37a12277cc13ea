import type { Architecture } from '../models/architecture.js';
import type { tf } from '../tf.js';
import { readModelMetadata } from '../training/metadata.js';
import type { OnnxLayout } from './onnxGraph.js';

/**
 * What an exported file records in its `metadata_props`, each value JSON: everything a consumer
 * needs to feed the model and read its output, with no other file.
 */
export interface OnnxMetadata {
  /** Output i's class name (a model trained or fine-tuned here, or pretrained). */
  classNames?: string[];
  /** Per-channel normalization of [0, 1] pixels: (pixel / 255 − mean) / std. */
  mean?: number[];
  std?: number[];
  /** [height, width] of the input. */
  inputSize: [number, number];
  /**
   * torchvision's eval transform: resize the shorter side to this, then center-crop to
   * `inputSize`. Absent: resize the image to cover `inputSize`, then center-crop.
   */
  resize?: number;
  /** The input's (and a feature map output's) axis order. */
  layout: 'NCHW' | 'NHWC';
  /** The options the network was built from (`describeMobileNetV2`'s config). */
  architecture: Architecture['config'];
}

/**
 * The metadata of `model`'s export: its recorded class names and preprocessing (see
 * `readModelMetadata`), when it records them, plus input size, layout and architecture.
 * Recorded metadata that is malformed is an error rather than left out, so that a file never
 * claims the wrong preprocessing.
 */
export function onnxMetadata(model: tf.LayersModel, arch: Architecture, layout: OnnxLayout): OnnxMetadata {
  const recorded = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  const known = recorded !== undefined && ['classNames', 'mean', 'std', 'inputShape'].some((k) => k in recorded);
  const meta = known ? readModelMetadata(model, `model '${model.name}'`) : undefined;
  const [h, w] = arch.inputShape;
  return {
    ...(meta && { classNames: meta.classNames, mean: meta.mean, std: meta.std }),
    inputSize: [h, w],
    ...(meta?.resize !== undefined && { resize: meta.resize }),
    layout: layout === 'nhwc' ? 'NHWC' : 'NCHW',
    architecture: arch.config,
  };
}

/** `metadata_props` entries: one per key, the value as JSON. */
export const metadataProps = (meta: OnnxMetadata) =>
  Object.entries(meta).map(([key, value]) => ({ key, value: JSON.stringify(value) }));

