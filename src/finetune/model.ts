import { InputError, received } from '../errors.js';
import { tf } from '../tf.js';

/** The classifier layer of every model this library builds (Keras's name; torchvision's `classifier.1`). */
export const HEAD_LAYER = 'predictions';

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
  /** Seeds the new classifier's initialization. Default: the source's configured seed. */
  seed?: number;
  /** Re-initialize the classifier even when its shape still fits (e.g. same count, other classes). Default false. */
  freshHead?: boolean;
}

interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
}

/**
 * A fresh model of `source`'s architecture (rebuilt from its own topology, so still plain
 * stock layers) with the classifier resized to `numClasses` and the input optionally resized,
 * and with every weight whose shape still fits copied over by layer name. Convolutions do not
 * depend on the spatial size, so a new input size keeps all of them. `source` is not modified
 * and may be disposed afterwards.
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
  const topology = source.toJSON(null, false) as unknown as { config: { layers: LayerJson[] } };
  const layers = topology.config.layers;
  const head = layers.find((l) => l.name === HEAD_LAYER && l.class_name === 'Dense');
  if (!head) {
    throw new InputError(`model '${source.name}' has no Dense layer named '${HEAD_LAYER}'; expected a MobileNetV2 built by this library`);
  }
  if (options.numClasses !== undefined) {
    if (!Number.isInteger(options.numClasses) || options.numClasses < 1) {
      throw new InputError(`numClasses must be an integer >= 1; received \`numClasses=${received(options.numClasses)}\``);
    }
    head.config.units = options.numClasses;
  }
  const init = head.config.kernel_initializer as { config?: { seed?: number } } | undefined;
  if (options.seed !== undefined && init?.config) init.config.seed = options.seed;
  if (options.inputSize) {
    const input = layers.find((l) => l.class_name === 'InputLayer');
    const shape = input?.config.batch_input_shape as (number | null)[] | undefined;
    if (!input || !shape || shape.length !== 4) throw new InputError(`model '${source.name}' has no 4D image input`);
    input.config.batch_input_shape = [null, options.inputSize[0], options.inputSize[1], shape[3]];
  }
  // Every layer comes back trainable; freezing is the fine-tuner's decision, not the checkpoint's.
  for (const layer of layers) layer.config.trainable = true;
  const model = await tf.models.modelFromJSON(topology as unknown as Parameters<typeof tf.models.modelFromJSON>[0]);
  return { model, transfer: copyWeightsByName(source, model, options.freshHead ? [HEAD_LAYER] : []) };
}

/**
 * Freezes (or unfreezes) every layer but the classifier. Frozen layers get no gradient
 * updates. Note that in TF.js, unlike Keras 2.x, `trainable = false` does NOT switch a
 * BatchNormalization layer to inference mode: called with `training: true` it still normalizes
 * with batch statistics and updates its moving averages. {@link fineTune} therefore runs
 * frozen features in inference mode itself.
 *
 * @example
 * freezeFeatures(model); // model.trainableWeights: predictions/kernel and predictions/bias
 */
export function freezeFeatures(model: tf.LayersModel, frozen = true): void {
  for (const layer of model.layers) layer.trainable = layer.name === HEAD_LAYER || !frozen;
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
  const pool = model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D');
  const classifier = model.layers.find((l) => l.name === HEAD_LAYER);
  if (!pool || !classifier) {
    throw new InputError(`model '${model.name}' has no global average pooling and '${HEAD_LAYER}' layer; expected a MobileNetV2 with its top`);
  }
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
