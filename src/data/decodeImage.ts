import sharp from 'sharp';

/** File extensions {@link decodeImage} reads (lower case, with the dot). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.gif'];

/**
 * How an image whose aspect ratio differs from the model's input is fitted:
 * - 'cover': scale the shorter side to fit, then center-crop (torchvision's Resize + CenterCrop);
 * - 'contain': scale the longer side to fit and pad with black (letterbox);
 * - 'fill': stretch to the exact size, ignoring the aspect ratio.
 */
export type ResizeFit = 'cover' | 'contain' | 'fill';

export interface DecodeOptions {
  /** Default 'cover'. */
  fit?: ResizeFit;
}

/**
 * Decodes a PNG, JPEG, WebP or GIF (first frame) and resizes it to `[height, width, channels]`
 * as interleaved uint8 pixels (HWC). Colour images become grayscale for 1-channel models and
 * grayscale images are replicated to RGB for 3-channel ones. EXIF orientation is applied, and
 * transparency is flattened onto black, so that a glyph drawn on a transparent background
 * looks like one drawn on black (MNIST's convention).
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
  let pipeline = sharp(input, { animated: false })
    .rotate()
    .resize(width, height, { fit: options.fit ?? 'cover', background: { r: 0, g: 0, b: 0, alpha: 1 } })
    .flatten({ background: { r: 0, g: 0, b: 0 } });
  pipeline = channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels || info.width !== width || info.height !== height) {
    throw new Error(`decoded to ${info.height}x${info.width}x${info.channels}, expected ${height}x${width}x${channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
