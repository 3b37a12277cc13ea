import { promises as fs } from 'node:fs';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { InputError } from '../errors.js';
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

/**
 * Larger images are refused (sharp's own default, 16383 × 16383): one line naming the size, not
 * an allocation of gigabytes.
 */
export const MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

/**
 * Bytes of full-size decoded pixels that `resize` decodes may hold at once, together. The plain
 * resize streams through libvips and holds a few rows; torchvision's eval transform needs the
 * whole image in memory (to resample it as PIL does), so concurrent decodes of large photos
 * (imageFolder decodes 8 at a time) wait for each other instead of adding up. An image larger
 * than this on its own is decoded alone.
 */
const FULL_DECODE_BUDGET = 256 * 2 ** 20;

/**
 * The first-come-first-served admission to {@link FULL_DECODE_BUDGET}. Module state, because the
 * memory it rations is the process's, whichever caller decodes.
 */
const budget = { inUse: 0, queue: [] as { bytes: number; admit: () => void }[] };

function admitWaiting(): void {
  while (budget.queue.length > 0) {
    const next = budget.queue[0]!;
    if (budget.inUse > 0 && budget.inUse + next.bytes > FULL_DECODE_BUDGET) return;
    budget.queue.shift();
    budget.inUse += next.bytes;
    next.admit();
  }
}

async function withDecodeBudget<T>(bytes: number, decode: () => Promise<T>): Promise<T> {
  await new Promise<void>((admit) => {
    budget.queue.push({ bytes, admit });
    admitWaiting();
  });
  try {
    return await decode();
  } finally {
    budget.inUse -= bytes;
    admitWaiting();
  }
}

/** sharp's input options for every decode here: the pixel limit, the first frame only. */
const INPUT = { animated: false, limitInputPixels: MAX_INPUT_PIXELS } as const;

/** An image that cannot be decoded, in one line (no file name: callers add it). */
class UndecodableImage extends Error {
  override name = 'UndecodableImage';
}

/** Rewords what sharp says about an input into one line that says what to do. */
async function explain(error: unknown, input: string | Buffer): Promise<Error> {
  if (error instanceof UndecodableImage) return error;
  const message = (error as Error).message ?? String(error);
  // Whatever failed, an image over the limit is refused as such (libvips may trip on it otherwise first).
  const meta = await sharp(input, { limitInputPixels: false }).metadata().catch(() => null);
  if (meta?.width && meta.height && meta.width * meta.height > MAX_INPUT_PIXELS) {
    const size = `${meta.width}x${meta.height} (${((meta.width * meta.height) / 1e6).toFixed(0)} MP)`;
    return new UndecodableImage(`${size} is over the decode limit of ${(MAX_INPUT_PIXELS / 1e6).toFixed(0)} MP; downscale it first`);
  }
  if (typeof input === 'string' && /unsupported image format|corrupt header/.test(message)) {
    const { size } = await fs.stat(input).catch(() => ({ size: -1 }));
    if (size === 0) return new UndecodableImage('empty file (0 bytes)');
  }
  if (/unsupported image format/.test(message)) return new UndecodableImage('not a PNG, JPEG, WebP or GIF image');
  const first = message.split('\n')[0]!.trim().replace(/:$/, '');
  // libvips reports a file cut short in several ways, depending on where its threads stop reading.
  return new UndecodableImage(/corrupt header|read error|premature end|truncated|failOn/i.test(first) ? `truncated or corrupt: ${first}` : first);
}

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
 * Reads an image's header only (format, size, channels), with {@link decodeImage}'s one-line
 * errors: what a folder scan uses to find files that are not images, or too large, without
 * decoding them.
 *
 * @example
 * const { width, height } = await probeImage('photo.jpg');
 */
export async function probeImage(input: string | Buffer): Promise<Metadata> {
  try {
    const meta = await sharp(input, INPUT).metadata();
    if (!meta.width || !meta.height) throw new Error('cannot read the image size');
    if (meta.width * meta.height > MAX_INPUT_PIXELS) throw new Error('Input image exceeds pixel limit');
    return meta;
  } catch (error) {
    throw await explain(error, input);
  }
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
 * Memory: the plain resize streams the image through libvips; `resize` holds the full decoded
 * image, and concurrent calls share a budget of 256 MiB of such pixels (larger images wait for
 * each other). Images over {@link MAX_INPUT_PIXELS} are refused.
 *
 * Throws a one-line error for an undecodable file (empty, truncated, not an image, too large);
 * callers decide whether to skip it.
 *
 * @example
 * const pixels = await decodeImage('cat.jpg', [224, 224, 3]);
 */
export async function decodeImage(
  input: string | Buffer,
  shape: readonly [number, number, number],
  options: DecodeOptions = {},
): Promise<Uint8Array> {
  const channels = shape[2];
  if (channels !== 1 && channels !== 3) throw new InputError(`decodeImage: channels must be 1 or 3; received ${channels}`);
  try {
    if (options.resize === undefined) return await decodeStreamed(input, shape, options.fit ?? 'cover');
    const meta = await probeImage(input);
    const bytes = meta.width * meta.height * (meta.channels ?? 3);
    return await withDecodeBudget(bytes, () => decodeEval(input, shape, options.resize!, meta));
  } catch (error) {
    throw await explain(error, input);
  }
}

async function decodeStreamed(input: string | Buffer, shape: readonly [number, number, number], fit: ResizeFit): Promise<Uint8Array> {
  const [height, width] = shape;
  const pipeline = sharp(input, INPUT).rotate()
    .resize(width, height, { fit, background: { r: 0, g: 0, b: 0, alpha: 1 } })
    .flatten({ background: { r: 0, g: 0, b: 0 } });
  return toPixels(pipeline, shape);
}

async function decodeEval(input: string | Buffer, shape: readonly [number, number, number], resize: number, meta: Metadata): Promise<Uint8Array> {
  const [height, width] = shape;
  let pipeline = sharp(input, INPUT).rotate();
  // EXIF orientations 5-8 swap width and height.
  const [w, h] = (meta.orientation ?? 1) >= 5 ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
  const g = resizeCropGeometry(w, h, resize, [height, width]);
  if (g.width < width || g.height < height) throw new Error(`resize ${resize} is smaller than the ${height}x${width} crop`);
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
  return toPixels(pipeline, shape);
}

async function toPixels(pipeline: Sharp, shape: readonly [number, number, number]): Promise<Uint8Array> {
  const [height, width, channels] = shape;
  pipeline = channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels || info.width !== width || info.height !== height) {
    throw new Error(`decoded to ${info.height}x${info.width}x${info.channels}, expected ${height}x${width}x${channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
