/** torchvision's ImageNet normalization (over [0, 1] pixels), for RGB models that record none. */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];
/** MNIST's pixel mean and std over [0, 1] pixels of the training set, as in the seed and torchvision's examples. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/**
 * The normalization for a model that records none: MNIST's for one channel, torchvision's
 * ImageNet one for three.
 *
 * @example
 * defaultNormalization(1); // { mean: [0.1307], std: [0.3081] }
 */
export function defaultNormalization(channels: number): { mean: number[]; std: number[] } {
  return channels === 1 ? { mean: [MNIST_MEAN], std: [MNIST_STD] } : { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
}
