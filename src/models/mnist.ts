import { makeDivisible } from '../layers/makeDivisible.js';
import { tf } from '../tf.js';
import { mobileNetV2 } from './mobilenetv2.js';
import { checkAlpha, checkPositiveInt, type InvertedResidualRow, type MobileNetV2Options } from './options.js';

/** The seed's shortened table for 28×28 digits: four rows, total stride 16, so the last map is 2×2. */
export const MNIST_SETTING: readonly InvertedResidualRow[] = [
  // t, c, n, s
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
];

/**
 * The seed's MNIST variant: input [28, 28, 1], the 4-row table, 10 classes, and a last conv of
 * makeDivisible(64 · α) channels. Unlike torchvision's `1280 · max(1, α)`, the seed lets α
 * shrink the last conv too. Any other option passes through to {@link mobileNetV2}.
 *
 * @example
 * await tf.ready();
 * const model = mobileNetV2Mnist({ seed: 0 });
 * model.summary();
 */
export function mobileNetV2Mnist(options: MobileNetV2Options = {}): tf.LayersModel {
  const alpha = checkAlpha(options.alpha ?? 1.0);
  const roundNearest = checkPositiveInt('roundNearest', options.roundNearest ?? 8);
  return mobileNetV2({
    inputShape: [28, 28, 1],
    numClasses: 10,
    invertedResidualSetting: MNIST_SETTING,
    lastChannels: makeDivisible(64 * alpha, roundNearest),
    name: `mobilenetv2_mnist_${alpha.toFixed(2)}`,
    ...options,
  });
}
