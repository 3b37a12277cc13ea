import { InputError } from '../errors.js';
import { tf } from '../tf.js';
import { architectureOf } from '../models/architectureOf.js';
import { inferencePlan } from './inferencePlan.js';

// One feature model per classifier: it shares the classifier's layers and weights, so building
// it allocates no tensors, and caching it keeps repeated calls free of graph rebuilding.
const featureModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

function featureModel(model: tf.LayersModel): tf.LayersModel {
  let features = featureModels.get(model);
  if (features) return features;
  const head = architectureOf(model)?.head;
  const rank = (model.outputs[0]!.shape as unknown[]).length;
  if (head?.kind === 'classifier') {
    const pooled = model.getLayer(head.layers.pool).output as tf.SymbolicTensor;
    features = tf.model({ inputs: model.inputs, outputs: pooled, name: `${model.name}_embed` });
  } else if (head !== undefined || rank === 4 || rank === 2) {
    // Built with includeTop: false (pooled below when it ends with a feature map), or a
    // feature extractor of the user's own.
    features = model;
  } else {
    throw new InputError(`model '${model.name}' is not a MobileNetV2 of this library and does not end in a feature map; expected a MobileNetV2`);
  }
  featureModels.set(model, features);
  return features;
}

/** Pooled features of a model through one inference plan, for several batches: see {@link featurePlan}. */
export interface FeaturePlan {
  /** [N, channels] features of `images`; the caller disposes them. */
  embed(images: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

function checkImages(images: tf.Tensor4D): void {
  if (!(images instanceof tf.Tensor) || images.rank !== 4) {
    throw new InputError(`images must be a 4-D tensor [N, height, width, channels]; received ${images instanceof tf.Tensor ? `shape [${images.shape.join(', ')}]` : typeof images}`);
  }
}

/**
 * {@link embed} for many batches with one {@link inferencePlan}, built here from the model's
 * current weights: dispose it when done, and build a new one after the weights change.
 *
 * @example
 * const plan = featurePlan(model);
 * const features = batches.map((x) => plan.embed(x));
 * plan.dispose();
 */
export function featurePlan(model: tf.LayersModel): FeaturePlan {
  const plan = inferencePlan(featureModel(model));
  return {
    embed: (images) => {
      checkImages(images);
      return tf.tidy(() => {
        const out = plan.predict(images);
        return (out.rank === 4 ? out.mean([1, 2]) : out) as tf.Tensor2D;
      });
    },
    dispose: () => plan.dispose(),
  };
}

/**
 * The pooled features of a MobileNetV2 for a batch of preprocessed images: the global average
 * of the last conv's output (1,280 channels at α ≤ 1), the layer before the classifier. This is
 * tfjs-models' `infer(img, true)`, for image search, clustering and k-NN classifiers. Works on a
 * model with its top (the classifier is skipped) or without (`includeTop: false`, any pooling).
 * Runs in inference mode, each BatchNormalization folded into the conv before it
 * ({@link inferencePlan}, built per call from the current weights), inside `tf.tidy`: only the
 * returned tensor remains. For many batches, {@link featurePlan} folds once.
 *
 * @param images - [N, height, width, channels], normalized as the model expects ({@link preprocessImage}).
 * @returns [N, channels] float32 features; the caller disposes it.
 * @example
 * const model = await pretrainedMobileNetV2();
 * const x = await preprocessImage('cat.jpg');
 * const features = embed(model, x.expandDims(0) as tf.Tensor4D); // [1, 1280]
 */
export function embed(model: tf.LayersModel, images: tf.Tensor4D): tf.Tensor2D {
  checkImages(images);
  const plan = featurePlan(model);
  try {
    return plan.embed(images);
  } finally {
    plan.dispose();
  }
}
