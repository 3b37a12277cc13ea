import { InputError, received } from '../errors.js';
import { checkOptions } from '../options/check.js';
import { tf } from '../tf.js';

/** Training-time augmentation. Everything is off by default: digits and text must not flip. */
export interface AugmentOptions {
  /**
   * Random resized crop (Inception-style): a crop covering a random fraction of the area in
   * `scale` and with an aspect ratio in `ratio` is resized back to the input size. `true` means
   * torchvision's RandomResizedCrop defaults, scale [0.08, 1] and ratio [3/4, 4/3]. Default off.
   */
  crop?: boolean | { scale?: readonly [number, number]; ratio?: readonly [number, number] };
  /** Random translation by up to this fraction of the height/width, filling with black. Default 0 (off). */
  shift?: number;
  /** Random horizontal flip with probability 0.5. Default false. */
  flip?: boolean;
}

interface CropRange {
  scale: readonly [number, number];
  ratio: readonly [number, number];
}

function checkRange(name: string, value: unknown, min: number, max: number): readonly [number, number] {
  if (
    !Array.isArray(value) || value.length !== 2 || !value.every((v) => Number.isFinite(v)) ||
    value[0] > value[1] || value[0] < min || value[1] > max
  ) {
    throw new InputError(`augment.crop.${name} must be [low, high] with ${min} <= low <= high <= ${max}; received \`${received(value)}\``);
  }
  return value as [number, number];
}

/** Validates augmentation options; returns null when nothing is enabled. */
export function checkAugment(options: AugmentOptions | undefined): AugmentOptions | null {
  if (!options) return null;
  checkOptions(options, ['crop', 'shift', 'flip'], 'augment');
  if (typeof options.crop === 'object') checkOptions(options.crop, ['scale', 'ratio'], 'augment.crop');
  const shift = options.shift ?? 0;
  if (!Number.isFinite(shift) || shift < 0 || shift >= 0.5) {
    throw new InputError(`augment.shift must be a fraction in [0, 0.5); received \`shift=${received(shift)}\``);
  }
  if (typeof options.crop === 'object') {
    checkRange('scale', options.crop.scale ?? [0.08, 1], 1e-3, 1);
    checkRange('ratio', options.crop.ratio ?? [3 / 4, 4 / 3], 1e-2, 100);
  }
  return options.crop || shift > 0 || options.flip ? options : null;
}

function cropRange(crop: AugmentOptions['crop']): CropRange | null {
  if (!crop) return null;
  const custom = crop === true ? {} : crop;
  return { scale: custom.scale ?? [0.08, 1], ratio: custom.ratio ?? [3 / 4, 4 / 3] };
}

/** One crop [top, left, height, width] in pixels, sampled as torchvision's RandomResizedCrop does. */
function sampleCrop(range: CropRange, height: number, width: number, random: () => number): [number, number, number, number] {
  const area = height * width;
  const [logLo, logHi] = [Math.log(range.ratio[0]), Math.log(range.ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (range.scale[0] + random() * (range.scale[1] - range.scale[0]));
    const ratio = Math.exp(logLo + random() * (logHi - logLo));
    const w = Math.round(Math.sqrt(target * ratio));
    const h = Math.round(Math.sqrt(target / ratio));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const top = Math.floor(random() * (height - h + 1));
      const left = Math.floor(random() * (width - w + 1));
      return [top, left, h, w];
    }
  }
  return [0, 0, height, width];
}

/**
 * Applies random crop, shift and flip to a batch of [0, 1] images (NHWC), returning a new
 * tensor of the same shape; the caller disposes both. Crop, shift and flip all become one
 * `cropAndResize` box per image: a box that extends past the image is a shift (filled with 0),
 * and a box with x1 > x2 samples the image mirrored.
 *
 * @example
 * const y = augmentBatch(x, { shift: 0.1 }, seededRandom(0));
 */
export function augmentBatch(x: tf.Tensor4D, options: AugmentOptions, random: () => number): tf.Tensor4D {
  const [n, height, width] = x.shape;
  const range = cropRange(options.crop);
  const shift = options.shift ?? 0;
  const boxes = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    // Box coordinates address pixel centres: cropAndResize samples row y1·(H−1), so the whole
    // image is [0, 0, 1, 1], and pixel rows top..top+h−1 are [top, top+h−1] / (H−1).
    let [top, left, h, w] = range ? sampleCrop(range, height, width, random) : [0, 0, height, width];
    if (shift > 0) {
      top -= Math.round((random() * 2 - 1) * shift * height);
      left -= Math.round((random() * 2 - 1) * shift * width);
    }
    const ny = Math.max(height - 1, 1);
    const nx = Math.max(width - 1, 1);
    let [y1, x1, y2, x2] = [top / ny, left / nx, (top + h - 1) / ny, (left + w - 1) / nx];
    if (options.flip && random() < 0.5) [x1, x2] = [x2, x1];
    boxes.set([y1, x1, y2, x2], i * 4);
  }
  return tf.tidy(() =>
    tf.image.cropAndResize(
      x,
      tf.tensor2d(boxes, [n, 4]),
      tf.range(0, n, 1, 'int32') as tf.Tensor1D,
      [height, width],
      'bilinear',
      0 /* extrapolationValue */,
    ),
  );
}
