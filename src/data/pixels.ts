import { InputError, received } from '../errors.js';
import { tf } from '../tf.js';
import { checkOneOf, checkOptions, checkSize, keysOf } from '../options/check.js';
import { TENSOR_DATASET_OPTIONS, type TensorDataset, tensorDataset, type TensorDatasetOptions } from './tensorDataset.js';

/** What `tf.browser.fromPixels` reads: ImageData, a canvas, an image, a video frame, an ImageBitmap or `{ data, width, height }`. */
export type PixelSource = Parameters<typeof tf.browser.fromPixels>[0];

/** How {@link fromPixels} shapes an image for a model. */
export interface PixelOptions {
  /** [height, width] the image is resized to (bilinear). Required. */
  size: readonly [number, number];
  /** 3 keeps RGB; 1 converts to luma (0.299 R + 0.587 G + 0.114 B, as PIL's 'L' mode). Default 3. */
  channels?: 1 | 3;
}

const PIXEL_OPTIONS = keysOf<PixelOptions>()({ size: true, channels: true });

/**
 * One image as a [height, width, channels] float32 tensor of [0, 1] pixels, resized to `size`;
 * the caller disposes it. Alpha is dropped.
 *
 * @example
 * const x = fromPixels(canvas, { size: [28, 28], channels: 1 });
 */
export function fromPixels(source: PixelSource, options: PixelOptions): tf.Tensor3D {
  checkOptions(options, PIXEL_OPTIONS, 'fromPixels');
  const size = checkSize('size', options?.size);
  const channels = checkOneOf('channels', options.channels ?? 3, [1, 3]);
  return tf.tidy(() => {
    const rgb = tf.browser.fromPixels(source, 3).toFloat().div(255) as tf.Tensor3D;
    const resized = rgb.shape[0] === size[0] && rgb.shape[1] === size[1]
      ? rgb
      : tf.image.resizeBilinear(rgb, size, false /* alignCorners */, true /* halfPixelCenters */);
    return channels === 3 ? resized : (resized.mul(tf.tensor1d([0.299, 0.587, 0.114])).sum(-1, true /* keepDims */) as tf.Tensor3D);
  });
}

/**
 * A dataset over images in a page (canvases, ImageData, video frames, ...), each converted once
 * by {@link fromPixels}. Dispose it when done.
 *
 * @example
 * const data = pixelDataset(canvases, labels, { size: [28, 28], channels: 1, classNames: ['a', 'b'], ...stats });
 */
export function pixelDataset(
  sources: readonly PixelSource[], labels: ArrayLike<number>, options: PixelOptions & TensorDatasetOptions,
): TensorDataset {
  if (!Array.isArray(sources) || sources.length === 0) {
    throw new InputError(`sources must be a non-empty array of images; received ${Array.isArray(sources) ? 'an empty array' : received(sources)}`);
  }
  checkOptions(options, [...PIXEL_OPTIONS, ...TENSOR_DATASET_OPTIONS], 'pixelDataset');
  const { size, channels, ...rest } = options;
  const images = tf.tidy(() => tf.stack(sources.map((s) => fromPixels(s, { size, ...(channels !== undefined && { channels }) }))) as tf.Tensor4D);
  try {
    return tensorDataset(images, labels, rest);
  } finally {
    images.dispose();
  }
}
