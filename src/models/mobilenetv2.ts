import { tf } from '../tf.js';
import { symbolicOps } from '../layers/convUnit.js';
import { Init } from '../layers/init.js';
import { type Architecture, describeMobileNetV2, type Head, runArchitecture } from './architecture.js';
import { rememberArchitecture } from './architectureOf.js';
import { checkSeed, type MobileNetV2Options } from './options.js';

export { IMAGENET_SETTING } from './architecture.js';

/** Options of {@link buildMobileNetV2}: what decides the weights and the name, not the network. */
export interface BuildOptions {
  /** Seeds the weight initialization. Default: unseeded. */
  seed?: number;
  /** Model name. Default `mobilenetv2_<alpha>_<height>`. */
  name?: string;
}

function applyHead(head: Exclude<Head, { kind: 'none' }>, x: tf.SymbolicTensor, init: Init): tf.SymbolicTensor {
  if (head.kind === 'pool') {
    const pool = head.pooling === 'avg' ? tf.layers.globalAveragePooling2d : tf.layers.globalMaxPooling2d;
    return pool({ name: head.layers.pool }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({ name: head.layers.pool }).apply(x) as tf.SymbolicTensor;
  // Keras's Dropout scales kept units by 1/(1-p) during training, exactly like PyTorch's.
  x = tf.layers.dropout({ rate: head.dropout, name: head.layers.dropout }).apply(x) as tf.SymbolicTensor;
  return tf.layers
    .dense({
      units: head.numClasses, activation: head.activation, name: head.layers.classifier,
      kernelInitializer: init.dense(), biasInitializer: 'zeros',
    })
    .apply(x) as tf.SymbolicTensor;
}

/**
 * The stock-layer `tf.LayersModel` of an {@link Architecture}, its layers named as the
 * description says. The architecture's config goes into the model's `userDefinedMetadata`
 * (`architecture`), so a saved model describes itself.
 *
 * @example
 * const arch = describeMobileNetV2({ alpha: 0.5, inputShape: [96, 96, 3] });
 * const model = buildMobileNetV2(arch, { seed: 0 });
 */
export function buildMobileNetV2(arch: Architecture, options: BuildOptions = {}): tf.LayersModel {
  const init = new Init(options.seed === undefined ? undefined : checkSeed(options.seed));
  const context = { batchNorm: arch.config.batchNorm, init };
  const input = tf.input({ shape: [...arch.inputShape], name: arch.input });
  const ops = symbolicOps(context);
  const output = runArchitecture(arch, input, { ...ops, head: (head, x) => (head.kind === 'none' ? x : applyHead(head, x, init)) });
  const name = options.name ?? `mobilenetv2_${arch.config.alpha.toFixed(2)}_${arch.inputShape[0]}`;
  const model = tf.model({ inputs: input, outputs: output, name });
  model.setUserDefinedMetadata({ architecture: arch.config });
  rememberArchitecture(model, arch);
  return model;
}

/**
 * Builds MobileNetV2 (Sandler et al. 2018) as a functional `tf.LayersModel` of stock layers,
 * so that it saves as plain TF.js and loads with `tf.loadLayersModel` anywhere: the
 * {@link describeMobileNetV2} description of `options`, built by {@link buildMobileNetV2}.
 *
 * Layer names follow Keras (`Conv1`, `bn_Conv1`, `block_{i}_expand`, `block_{i}_depthwise_BN`,
 * `block_{i}_project`, `block_{i}_add`, `Conv_1`, `predictions`), with block 0 being the t=1
 * block that Keras calls `expanded_conv`. Block i is torchvision's `features[i + 1]`.
 *
 * @example
 * await tf.ready();
 * const model = mobileNetV2({ alpha: 0.5, numClasses: 10, inputShape: [96, 96, 3] });
 * const logits = model.predict(tf.zeros([1, 96, 96, 3])) as tf.Tensor;
 */
export function mobileNetV2(options: MobileNetV2Options = {}): tf.LayersModel {
  const arch = describeMobileNetV2(options);
  return buildMobileNetV2(arch, { seed: options.seed, name: options.name });
}
