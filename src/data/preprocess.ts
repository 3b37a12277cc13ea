import { InputError, received } from '../errors.js';
import { checkOptions, checkPerChannel, keysOf } from '../options/check.js';
import { tf } from '../tf.js';
import { decodeImage } from './decodeImage.js';
import { scaledResize } from './evalTransform.js';

/** Options of {@link preprocessImage}. Every field is optional; the defaults are torchvision's IMAGENET1K_V2 transform. */
export interface PreprocessOptions {
  /** [height, width, channels] of the model input (the center crop). Default [224, 224, 3]. */
  inputShape?: readonly [number, number, number];
  /**
   * Shorter side before the center crop. Default: torchvision's 232 for a 224 crop, scaled by
   * the same ratio for other sizes (99 for 96). Use 256 for IMAGENET1K_V1.
   */
  resize?: number;
  /** Per-channel mean over [0, 1] pixels. Default ImageNet's [0.485, 0.456, 0.406]. */
  mean?: readonly number[];
  /** Per-channel std. Default ImageNet's [0.229, 0.224, 0.225]. */
  std?: readonly number[];
}

const PREPROCESS_OPTIONS = keysOf<PreprocessOptions>()({ inputShape: true, resize: true, mean: true, std: true });

/** torchvision's ImageNet normalization. */
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * Turns an image file or encoded bytes (PNG, JPEG, WebP, GIF) into a model input the way
 * torchvision's eval transform does: resize the shorter side (bilinear, antialiased), center-crop,
 * RGB, scale to [0, 1], normalize with (x − mean) / std. For images up to 4 megapixels the
 * pixels before normalization equal torchvision's on PIL images exactly; see `decodeImage`.
 * Unlike PIL, EXIF orientation is applied first.
 *
 * @returns a [height, width, channels] float32 tensor; the caller disposes it.
 * @throws InputError naming the image when it cannot be decoded.
 * @example
 * const x = await preprocessImage('cat.jpg'); // IMAGENET1K_V2: resize 232, crop 224
 * const logits = model.predict(x.expandDims(0));
 */
export async function preprocessImage(input: string | Uint8Array, options: PreprocessOptions = {}): Promise<tf.Tensor3D> {
  checkOptions(options, PREPROCESS_OPTIONS, 'preprocessImage');
  const shape = options.inputShape ?? [224, 224, 3];
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0) || (shape[2] !== 1 && shape[2] !== 3)) {
    throw new InputError(`inputShape must be [height, width, channels] with channels 1 or 3; received \`inputShape=${received(shape)}\``);
  }
  const resize = options.resize ?? scaledResize({ resizeSize: 232, cropSize: 224 }, [shape[0], shape[1]]);
  if (!Number.isInteger(resize) || resize < Math.max(shape[0], shape[1])) {
    throw new InputError(`resize must be an integer >= the crop (${Math.max(shape[0], shape[1])}); received \`resize=${received(resize)}\``);
  }
  const channels = shape[2];
  // Grayscale takes the mean of ImageNet's three channels.
  const gray = (values: number[]) => (channels === 3 ? values : [values.reduce((a, b) => a + b) / 3]);
  const mean = checkPerChannel('mean', options.mean ?? gray(MEAN), channels);
  const std = checkPerChannel('std', options.std ?? gray(STD), channels, { positive: true });
  const where = typeof input === 'string' ? input : 'the image bytes';
  let pixels: Uint8Array;
  try {
    pixels = await decodeImage(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength), shape, { resize });
  } catch (error) {
    throw new InputError(`${where}: cannot read the image (${(error as Error).message.split('\n')[0]}); expected a PNG, JPEG, WebP or GIF`);
  }
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const c = i % channels;
    out[i] = (pixels[i] / 255 - mean[c]) / std[c];
  }
  return tf.tensor3d(out, [shape[0], shape[1], channels]);
}
