import { InputError } from '../errors.js';
import { tf } from '../tf.js';
import { inferencePlan } from './inferencePlan.js';

// One feature model per classifier: it shares the classifier's layers and weights, so building
// it allocates no tensors, and caching it keeps repeated calls free of graph rebuilding.
const featureModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

function featureModel(model: tf.LayersModel): tf.LayersModel {
  let features = featureModels.get(model);
  if (features) return features;
  const pool = model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D');
  if (pool) {
    features = tf.model({ inputs: model.inputs, outputs: pool.output as tf.SymbolicTensor, name: `${model.name}_embed` });
  } else if ((model.outputs[0].shape as unknown[]).length === 4 || (model.outputs[0].shape as unknown[]).length === 2) {
    features = model; // built with includeTop: false; pooled below when it ends with a feature map
  } else {
    throw new InputError(`model '${model.name}' has no global average pooling layer and does not end in a feature map; expected a MobileNetV2`);
  }
  featureModels.set(model, features);
  return features;
}

/**
 * The pooled features of a MobileNetV2 for a batch of preprocessed images: the global average
 * of the last conv's output (1,280 channels at α ≤ 1), the layer before the classifier. This is
 * tfjs-models' `infer(img, true)`, for image search, clustering and k-NN classifiers. Works on a
 * model with its top (the classifier is skipped) or without (`includeTop: false`, any pooling).
 * Runs in inference mode, each BatchNormalization folded into the conv before it
 * ({@link inferencePlan}), inside `tf.tidy`: only the returned tensor remains.
 *
 * @param images - [N, height, width, channels], normalized as the model expects ({@link preprocessImage}).
 * @returns [N, channels] float32 features; the caller disposes it.
 * @example
 * const model = await pretrainedMobileNetV2();
 * const x = await preprocessImage('cat.jpg');
 * const features = embed(model, x.expandDims(0) as tf.Tensor4D); // [1, 1280]
 */
export function embed(model: tf.LayersModel, images: tf.Tensor4D): tf.Tensor2D {
  if (!(images instanceof tf.Tensor) || images.rank !== 4) {
    throw new InputError(`images must be a 4-D tensor [N, height, width, channels]; received ${images instanceof tf.Tensor ? `shape [${images.shape.join(', ')}]` : typeof images}`);
  }
  // Built per call from the current weights, so that fine-tuning between calls is seen.
  const plan = inferencePlan(featureModel(model));
  try {
    return tf.tidy(() => {
      const out = plan.predict(images);
      return (out.rank === 4 ? out.mean([1, 2]) : out) as tf.Tensor2D;
    });
  } finally {
    plan.dispose();
  }
}
