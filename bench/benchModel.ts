import { mobileNetV2, mobileNetV2Mnist, type tf } from '../src/index.js';

/**
 * The model a benchmark or profile runs: the seed MNIST model when `size` is null, else the
 * ImageNet-shaped MobileNetV2 (3 channels, 10 classes) at `size` × `size`; width `alpha`, seed 0.
 */
export function benchModel(size: number | null, alpha = 1): tf.LayersModel {
  return size === null
    ? mobileNetV2Mnist({ alpha, seed: 0 })
    : mobileNetV2({ inputShape: [size, size, 3], numClasses: 10, alpha, seed: 0 });
}

/** One input image's [height, width, channels] for {@link benchModel}. */
export function benchImageShape(size: number | null): [number, number, number] {
  return size === null ? [28, 28, 1] : [size, size, 3];
}
