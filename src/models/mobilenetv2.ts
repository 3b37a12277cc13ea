import { tf } from '../tf.js';
import { convBNReLU6 } from '../layers/convBnRelu6.js';
import { Init } from '../layers/init.js';
import { invertedResidual } from '../layers/invertedResidual.js';
import { makeDivisible } from '../layers/makeDivisible.js';
import {
  checkAlpha, checkBatchNorm, checkInputShape, checkKnownKeys, checkOneOf, checkPositiveInt, checkRate, checkSeed, checkTable,
  type InvertedResidualRow, type MobileNetV2Options,
} from './options.js';

/** The paper's Table 2, as in torchvision. */
export const IMAGENET_SETTING: readonly InvertedResidualRow[] = [
  // t, c, n, s
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

const OPTION_NAMES = [
  'inputShape', 'numClasses', 'alpha', 'invertedResidualSetting', 'roundNearest', 'firstChannels', 'lastChannels',
  'dropout', 'includeTop', 'pooling', 'classifierActivation', 'batchNorm', 'seed', 'name',
] as const;

/**
 * Builds MobileNetV2 (Sandler et al. 2018) as a functional `tf.LayersModel` of stock layers,
 * so that it saves as plain TF.js and loads with `tf.loadLayersModel` anywhere.
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
  checkKnownKeys(options, OPTION_NAMES, 'mobileNetV2');
  const alpha = checkAlpha(options.alpha ?? 1.0);
  const table = checkTable(options.invertedResidualSetting ?? IMAGENET_SETTING);
  const roundNearest = checkPositiveInt('roundNearest', options.roundNearest ?? 8);
  const numClasses = checkPositiveInt('numClasses', options.numClasses ?? 1000);
  const dropout = checkRate('dropout', options.dropout ?? 0.2);
  const pooling = checkOneOf('pooling', options.pooling ?? 'none', ['avg', 'max', 'none']);
  const classifierActivation = checkOneOf('classifierActivation', options.classifierActivation ?? 'linear', ['linear', 'softmax']);
  const batchNorm = checkBatchNorm(options.batchNorm);
  const totalStride = table.reduce((acc, row) => acc * row[3], 2);
  const inputShape = checkInputShape(options.inputShape ?? [224, 224, 3], totalStride);
  const firstChannels = makeDivisible(checkPositiveInt('firstChannels', options.firstChannels ?? 32) * alpha, roundNearest);
  const lastChannels = checkPositiveInt('lastChannels', options.lastChannels ?? makeDivisible(1280 * Math.max(1, alpha), roundNearest));
  const init = new Init(options.seed === undefined ? undefined : checkSeed(options.seed));

  const input = tf.input({ shape: [...inputShape], name: 'input' });
  let x = convBNReLU6(input, {
    filters: firstChannels, kernelSize: 3, strides: 2, batchNorm, init,
    names: { pad: 'Conv1_pad', conv: 'Conv1', bn: 'bn_Conv1', act: 'Conv1_relu' },
  });

  let index = 0;
  for (const [t, c, n, s] of table) {
    const outChannels = makeDivisible(c * alpha, roundNearest);
    for (let i = 0; i < n; i++) {
      x = invertedResidual(x, { outChannels, strides: i === 0 ? s : 1, expandRatio: t, index: index++, batchNorm, init });
    }
  }

  x = convBNReLU6(x, {
    filters: lastChannels, kernelSize: 1, batchNorm, init,
    names: { pad: 'Conv_1_pad', conv: 'Conv_1', bn: 'Conv_1_bn', act: 'out_relu' },
  });

  if (options.includeTop ?? true) {
    x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tf.SymbolicTensor;
    // Keras's Dropout scales kept units by 1/(1-p) during training, exactly like PyTorch's.
    x = tf.layers.dropout({ rate: dropout, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({
        units: numClasses, activation: classifierActivation, name: 'predictions',
        kernelInitializer: init.dense(), biasInitializer: 'zeros',
      })
      .apply(x) as tf.SymbolicTensor;
  } else if (pooling === 'avg') {
    x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tf.SymbolicTensor;
  } else if (pooling === 'max') {
    x = tf.layers.globalMaxPooling2d({ name: 'global_max_pooling2d' }).apply(x) as tf.SymbolicTensor;
  }

  const name = options.name ?? `mobilenetv2_${alpha.toFixed(2)}_${inputShape[0]}`;
  return tf.model({ inputs: input, outputs: x, name });
}
