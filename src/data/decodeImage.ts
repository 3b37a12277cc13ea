import sharp from 'sharp';
import { resizeCropGeometry } from './evalTransform.js';
import { resampleBilinear } from './resampleBilinear.js';

/** File extensions {@link decodeImage} reads (lower case, with the dot). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.gif'];

/**
 * How an image whose aspect ratio differs from the model's input is fitted:
 * - 'cover': scale the shorter side to fit, then center-crop (torchvision's Resize + CenterCrop);
 * - 'contain': scale the longer side to fit and pad with black (letterbox);
 * - 'fill': stretch to the exact size, ignoring the aspect ratio.
 */
export type ResizeFit = 'cover' | 'contain' | 'fill';

/** Up to this many source pixels, `resize` reproduces torchvision's pixels exactly. */
export const EXACT_RESIZE_MAX_PIXELS = 4_000_000;

export interface DecodeOptions {
  /** Default 'cover'. Ignored when `resize` is set. */
  fit?: ResizeFit;
  /**
   * torchvision's eval transform: resize the shorter side to this many pixels (bilinear,
   * antialiased, like PIL's), then center-crop the model's input size. Must be at least the
   * input's height and width. The pixels equal torchvision's (PIL's) for images up to
   * {@link EXACT_RESIZE_MAX_PIXELS}, and are within 2 levels of 255 beyond. Default: none
   * ('cover' resizes the shorter side to the crop itself, with sharp's default kernel).
   */
  resize?: number;
}

/**
 * Decodes a PNG, JPEG, WebP or GIF (first frame) and resizes it to `[height, width, channels]`
 * as interleaved uint8 pixels (HWC). Colour images become grayscale for 1-channel models and
 * grayscale images are replicated to RGB for 3-channel ones. EXIF orientation is applied.
 * Transparency: with `resize` (torchvision's eval transform) the alpha channel is dropped and
 * the colour stored under it kept, as PIL's `convert('RGB')` in torchvision's image loader does;
 * without, it is flattened onto black, so that a glyph drawn on a transparent background looks
 * like one drawn on black (MNIST's convention).
 *
 * Throws sharp's error for an undecodable file; callers decide whether to skip it.
 *
 * @example
 * const pixels = await decodeImage('cat.jpg', [224, 224, 3]);
 */
export async function decodeImage(
  input: string | Buffer,
  shape: readonly [number, number, number],
  options: DecodeOptions = {},
): Promise<Uint8Array> {
  const [height, width, channels] = shape;
  if (channels !== 1 && channels !== 3) throw new Error(`decodeImage: channels must be 1 or 3; received ${channels}`);
  let pipeline = sharp(input, { animated: false }).rotate();
  if (options.resize !== undefined) {
    const meta = await sharp(input, { animated: false }).metadata();
    // EXIF orientations 5-8 swap width and height.
    const [w, h] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
    if (!w || !h) throw new Error('cannot read the image size');
    const g = resizeCropGeometry(w, h, options.resize, [height, width]);
    if (g.width < width || g.height < height) throw new Error(`resize ${options.resize} is smaller than the ${height}x${width} crop`);
    if (g.width > w || g.height > h || w * h <= EXACT_RESIZE_MAX_PIXELS) {
      // Resampled here exactly as PIL does. libvips enlarges on another pixel grid (a third of
      // the range apart at edges), and shrinks within 2 levels of PIL, so only large photos,
      // where this would cost ~20 ms per megapixel, go to libvips.
      const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      const resized = resampleBilinear(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height, info.channels, g.width, g.height);
      pipeline = sharp(resized, { raw: { width: g.width, height: g.height, channels: info.channels as 3 } })
        .extract({ left: g.left, top: g.top, width, height });
    } else {
      // Shrinking large photos: libvips' 'linear' kernel is a triangle filter widened by the scale, like PIL's
      // antialiased BILINEAR (within a level or two). No shrink-on-load: it would subsample
      // JPEGs before filtering.
      // No alpha channel when resampling (libvips would premultiply by it; PIL resamples RGB).
      const { data, info } = await pipeline.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      pipeline = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels as 1 | 3 } })
        .resize(g.width, g.height, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false })
        .extract({ left: g.left, top: g.top, width, height });
    }
  } else {
    pipeline = pipeline.resize(width, height, { fit: options.fit ?? 'cover', background: { r: 0, g: 0, b: 0, alpha: 1 } });
  }
  // With `resize` the alpha channel was dropped above; this flattens only the plain resize's.
  if (options.resize === undefined) pipeline = pipeline.flatten({ background: { r: 0, g: 0, b: 0 } });
  pipeline = channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels || info.width !== width || info.height !== height) {
    throw new Error(`decoded to ${info.height}x${info.width}x${info.channels}, expected ${height}x${width}x${channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
