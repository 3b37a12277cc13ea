import { InputError } from '../errors.js';
import { type Architecture, describeMobileNetV2, type Head } from '../models/architecture.js';
import { requireArchitecture } from '../models/architectureOf.js';
import { buildMobileNetV2 } from '../models/mobilenetv2.js';
import { checkPositiveInt } from '../models/options.js';
import { tf } from '../tf.js';

export { HEAD_LAYER } from '../models/architecture.js';

/** What a weight transfer did, by layer name. */
export interface TransferReport {
  /** Layers whose weights were copied from the source. */
  loaded: string[];
  /** Layers that kept their fresh initialization because the source's shapes differ (e.g. the classifier for another class count). */
  replaced: string[];
  /** Layers with weights that the source lacks (also freshly initialized). */
  missing: string[];
}

/**
 * Copies weights from `source` into `target` layer by layer, matching layers by name and
 * copying only when every weight shape agrees; the rest keep their initialization and are
 * reported. This is the seed's `numel` filter, but keyed by name, so a reordering or a
 * renamed layer can never put weights into the wrong place. Layers named in `skip` keep their
 * initialization and are reported as replaced.
 *
 * @example
 * const { replaced } = copyWeightsByName(pretrained, fresh); // ['predictions'] for a new class count
 */
export function copyWeightsByName(source: tf.LayersModel, target: tf.LayersModel, skip: readonly string[] = []): TransferReport {
  const report: TransferReport = { loaded: [], replaced: [], missing: [] };
  const byName = new Map(source.layers.map((layer) => [layer.name, layer]));
  for (const layer of target.layers) {
    if (layer.weights.length === 0) continue;
    if (skip.includes(layer.name)) {
      report.replaced.push(layer.name);
      continue;
    }
    const from = byName.get(layer.name);
    if (!from || from.weights.length !== layer.weights.length) {
      (from ? report.replaced : report.missing).push(layer.name);
      continue;
    }
    const same = layer.weights.every((w, i) => tf.util.arraysEqual(w.shape as number[], from.weights[i].shape as number[]));
    if (!same) {
      report.replaced.push(layer.name);
      continue;
    }
    // setWeights copies by reference-counted data, so `source` may be disposed afterwards.
    layer.setWeights(from.getWeights());
    report.loaded.push(layer.name);
  }
  return report;
}

/** Options of {@link rebuildWithHead}. */
export interface RebuildOptions {
  /** Classes of the new classifier. Default: the source's. */
  numClasses?: number;
  /** New input [height, width]; channels stay the source's. Default: the source's. */
  inputSize?: readonly [number, number];
  /** Seeds the new model's initialization, which the new classifier keeps. Default: unseeded. */
  seed?: number;
  /** Re-initialize the classifier even when its shape still fits (e.g. same count, other classes). Default false. */
  freshHead?: boolean;
}

/** The architecture of `model` when it ends in a classifier, or an `InputError` naming `what`. */
function classifierArchitecture(model: tf.LayersModel, what: string): Architecture & { head: Extract<Head, { kind: 'classifier' }> } {
  const arch = requireArchitecture(model, what);
  if (arch.head.kind !== 'classifier') {
    throw new InputError(`${what}: model '${model.name}' has no classifier (built with includeTop: false); expected a MobileNetV2 with its top`);
  }
  return arch as Architecture & { head: Extract<Head, { kind: 'classifier' }> };
}

/**
 * A fresh model of `source`'s architecture (a MobileNetV2 of this library, rebuilt from its
 * description, so still plain stock layers) with the classifier resized to `numClasses` and the
 * input optionally resized, and with every weight whose shape still fits copied over by layer
 * name. Convolutions do not depend on the spatial size, so a new input size keeps all of them.
 * `source` is not modified and may be disposed afterwards.
 *
 * @returns the new model and what was transferred; `replaced` is `['predictions']` when the
 *   class count changed.
 * @example
 * const pretrained = await loadModel('runs/mnist');
 * const { model, transfer } = await rebuildWithHead(pretrained, { numClasses: 5 });
 */
export async function rebuildWithHead(
  source: tf.LayersModel, options: RebuildOptions = {},
): Promise<{ model: tf.LayersModel; transfer: TransferReport }> {
  const arch = classifierArchitecture(source, 'rebuildWithHead');
  const [h, w, channels] = arch.inputShape;
  const inputSize = options.inputSize ?? [h, w];
  const config = {
    ...arch.config,
    numClasses: options.numClasses === undefined ? arch.config.numClasses : checkPositiveInt('numClasses', options.numClasses),
    inputShape: [inputSize[0], inputSize[1], channels] as [number, number, number],
  };
  const model = buildMobileNetV2(describeMobileNetV2(config), { seed: options.seed, name: source.name });
  return { model, transfer: copyWeightsByName(source, model, options.freshHead ? [arch.head.layers.classifier] : []) };
}

/**
 * Freezes (or unfreezes) every layer but the classifier. Frozen layers get no gradient
 * updates. Note that in TF.js, unlike Keras 2.x, `trainable = false` does NOT switch a
 * BatchNormalization layer to inference mode: called with `training: true` it still normalizes
 * with batch statistics and updates its moving averages. {@link fineTune} therefore trains with
 * `train()`'s `freezeBatchNormStats` (training/forward.ts), which runs frozen BatchNorm layers
 * in inference mode.
 *
 * @example
 * freezeFeatures(model); // model.trainableWeights: predictions/kernel and predictions/bias
 */
export function freezeFeatures(model: tf.LayersModel, frozen = true): void {
  const head = classifierArchitecture(model, 'freezeFeatures').head.layers.classifier;
  for (const layer of model.layers) layer.trainable = layer.name === head || !frozen;
}

/** A model cut in two at the classifier: pooled features, and the layers after them. */
export interface HeadSplit {
  /** image → pooled features [N, C] (everything up to global average pooling). */
  features: tf.LayersModel;
  /** features [N, 1, 1, C] → logits: dropout and the classifier, sharing the original layers. */
  head: tf.LayersModel;
}

/**
 * Splits `model` at its global average pooling. Both halves share `model`'s layer objects, so
 * training `head` trains `model`'s classifier. The head takes [1, 1, C] inputs because the
 * trainer's batches are 4D.
 *
 * @example
 * const { features, head } = splitAtHead(model);
 * const f = tf.tidy(() => (features.predict(x) as tf.Tensor2D).reshape([-1, 1, 1, c]));
 */
export function splitAtHead(model: tf.LayersModel): HeadSplit {
  const { head: { layers } } = classifierArchitecture(model, 'splitAtHead');
  const pool = model.getLayer(layers.pool);
  const classifier = model.getLayer(layers.classifier);
  const pooled = pool.output as tf.SymbolicTensor;
  const channels = pooled.shape[1] as number;
  const features = tf.model({ inputs: model.inputs, outputs: pooled, name: `${model.name}_features` });
  const input = tf.input({ shape: [1, 1, channels], name: 'pooled_features' });
  let x = tf.layers.flatten({ name: 'pooled_flatten' }).apply(input) as tf.SymbolicTensor;
  // Every layer between the pooling and the classifier (dropout), in order, then the classifier.
  const start = model.layers.indexOf(pool);
  const end = model.layers.indexOf(classifier);
  for (const layer of model.layers.slice(start + 1, end + 1)) x = layer.apply(x) as tf.SymbolicTensor;
  const head = tf.model({ inputs: input, outputs: x, name: `${model.name}_head` });
  return { features, head };
}
