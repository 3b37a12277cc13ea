import { promises as fs } from 'node:fs';
import path from 'node:path';
import { checkNumber, checkOneOf, checkOptions, checkPerChannel, keysOf } from '../options/check.js';
import { InputError, received } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { tf } from '../tf.js';
import { type AugmentOptions, augmentBatch, checkAugment } from './augment.js';
import type { Batch, BatchOptions, Dataset } from './dataset.js';
import { decodeImage, IMAGE_EXTENSIONS, probeImage, type ResizeFit } from './decodeImage.js';

/** Where decoded pixels live: all in memory, or decoded from disk for every batch. */
export type CacheMode = 'memory' | 'stream';

/** Options of {@link imageFolder}. Only `inputShape` is required. */
export interface ImageFolderOptions {
  /** [height, width, channels] the model expects; channels 1 (grayscale) or 3 (RGB). */
  inputShape: readonly [number, number, number];
  /** Per-channel mean of [0, 1] pixels, one value or one per channel. Default 0.5. */
  mean?: readonly number[];
  /** Per-channel std of [0, 1] pixels, one value or one per channel. Default 0.5. */
  std?: readonly number[];
  /** How images of another aspect ratio are fitted. Default 'cover' (resize and center-crop). */
  fit?: ResizeFit;
  /**
   * torchvision's eval transform instead of `fit`: resize the shorter side to this, then
   * center-crop the input size (what pretrained weights expect, e.g. 232 for a 224 input).
   * Default: none.
   */
  resize?: number;
  /** Training augmentation, applied when the trainer asks for `augment: true`. Default none. */
  augment?: AugmentOptions;
  /**
   * 'memory' decodes every image once and keeps the uint8 pixels; 'stream' decodes each batch
   * from disk, so memory stays bounded for folders larger than RAM. Default 'auto': memory
   * when the decoded pixels fit in `maxCacheBytes`.
   */
  cache?: CacheMode | 'auto';
  /** Largest decoded size (bytes, uint8 pixels) that 'auto' keeps in memory. Default 512 MiB. */
  maxCacheBytes?: number;
  /** Fail when more than this fraction of the images cannot be decoded. Default 0.05. */
  maxCorruptFraction?: number;
  /** Images decoded in parallel (sharp decodes on libuv's thread pool). Default 8. */
  concurrency?: number;
  /** Receives the warnings about skipped files. Default silent. */
  logger?: Logger;
  /** Stops decoding when aborted, rejecting with `signal.reason`. Default: none. */
  signal?: AbortSignal;
}

export interface ImageFolderSummary {
  dir: string;
  /** Images per class, in class order. */
  counts: number[];
  /** Files skipped because of their extension, by extension ('' for none). */
  ignored: Record<string, number>;
  /** Images that could not be decoded and were skipped. */
  corrupt: string[];
  /** Paths skipped while listing (symbolic-link loops, unreadable folders, image formats not read), with why. */
  skipped: SkippedPath[];
  mode: CacheMode;
}

/** A path {@link scanImageFolder} passed over, and why, in one line. */
export interface SkippedPath {
  path: string;
  reason: string;
}

/** A {@link Dataset} read from `DIR/<class>/<image>`, plus what was found there. */
export interface ImageFolder extends Dataset {
  /** Image paths, in example order (classes sorted by name, files sorted within a class). */
  readonly files: readonly string[];
  readonly summary: ImageFolderSummary;
  /** One line for logs: classes, images, ignored and corrupt files, and the cache mode. */
  describe(): string;
}

/** What {@link scanImageFolder} finds: classes sorted by name, image files in example order. */
export interface ImageFolderScan {
  classNames: string[];
  files: string[];
  labels: number[];
  /** Files skipped because of their extension, by extension ('' for none). */
  ignored: Record<string, number>;
  /** Paths passed over: symbolic-link loops, unreadable folders, images in formats not read (.bmp, .tiff, ...). */
  skipped: SkippedPath[];
}

/** Image formats a folder may well hold but {@link decodeImage} does not read: named, not silently ignored. */
const OTHER_IMAGE_EXTENSIONS = ['.bmp', '.tif', '.tiff', '.avif', '.heic', '.heif', '.svg', '.ico', '.jp2', '.jxl', '.psd', '.dng'];

/** Deeper than this, nested folders inside a class are not followed (a guard against link mazes). */
const MAX_DEPTH = 32;

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function isDirectory(entry: import('node:fs').Dirent, full: string): Promise<boolean> {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  return (await fs.stat(full).catch(() => null))?.isDirectory() ?? false;
}

/** What one listing gathers besides the images. */
interface Listing {
  ignored: Record<string, number>;
  skipped: SkippedPath[];
}

/**
 * Image files under `dir`, recursively, sorted; other files are counted into `ignored`. A link
 * back to a folder being listed (a loop) and an unreadable folder are passed over, into `skipped`.
 */
async function listImages(dir: string, listing: Listing, ancestors: readonly string[] = []): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  let real: string;
  try {
    real = await fs.realpath(dir);
    entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => byCodeUnit(a.name, b.name));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    listing.skipped.push({ path: dir, reason: `cannot read the folder (${code})` });
    return [];
  }
  const loop = ancestors.indexOf(real);
  if (loop >= 0) {
    listing.skipped.push({ path: dir, reason: 'a symbolic link back to a folder that contains it (a loop); not followed' });
    return [];
  }
  if (ancestors.length >= MAX_DEPTH) {
    listing.skipped.push({ path: dir, reason: `nested more than ${MAX_DEPTH} folders deep; not followed` });
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (await isDirectory(entry, full)) {
      found.push(...(await listImages(full, listing, [...ancestors, real])));
      continue;
    }
    const ext = path.extname(entry.name).toLowerCase();
    if (IMAGE_EXTENSIONS.includes(ext)) found.push(full);
    else {
      listing.ignored[ext] = (listing.ignored[ext] ?? 0) + 1;
      if (OTHER_IMAGE_EXTENSIONS.includes(ext)) {
        listing.skipped.push({ path: full, reason: `${ext} images are not read (expected ${IMAGE_EXTENSIONS.join(', ')}); convert it` });
      }
    }
  }
  return found;
}

/**
 * Lists `DIR/<class>/<image>` without decoding anything: class names sorted by code unit (as
 * torchvision's ImageFolder does), image files sorted within each class. Throws the same
 * one-line errors as {@link imageFolder} for a missing folder, no class folders, a single
 * class, no images or an empty class folder.
 *
 * @example
 * const { classNames } = await scanImageFolder('data/flowers');
 */
export async function scanImageFolder(dir: string): Promise<ImageFolderScan> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const problem = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a folder' : `cannot read the image folder (${code ?? error})`;
    throw new InputError(`${dir}: ${problem}; expected a directory with one sub-folder of images per class`);
  }
  const listing: Listing = { ignored: {}, skipped: [] };
  const { ignored } = listing;
  const classDirs: string[] = [];
  for (const entry of entries) {
    if (await isDirectory(entry, path.join(dir, entry.name))) classDirs.push(entry.name);
    else {
      const ext = path.extname(entry.name).toLowerCase();
      ignored[ext] = (ignored[ext] ?? 0) + 1;
    }
  }
  // torchvision's ImageFolder sorts class names by code unit too, so indices agree with it.
  classDirs.sort(byCodeUnit);
  if (classDirs.length === 0) {
    throw new InputError(`${dir}: no class folders; expected images in ${path.join(dir, '<class>', '<image>')}`);
  }
  if (classDirs.length === 1) {
    throw new InputError(`${dir}: only one class folder ('${classDirs[0]}'); a classifier needs at least 2 classes`);
  }
  const files: string[] = [];
  const labels: number[] = [];
  const root = await fs.realpath(dir).catch(() => dir);
  const perClass = await Promise.all(classDirs.map((name) => listImages(path.join(dir, name), listing, [root])));
  if (perClass.every((list) => list.length === 0)) {
    throw new InputError(`${dir}: no images (${IMAGE_EXTENSIONS.join(', ')}) in its ${classDirs.length} class folders`);
  }
  perClass.forEach((list, label) => {
    if (list.length === 0) {
      throw new InputError(`${path.join(dir, classDirs[label])}: empty class folder; expected at least one image (${IMAGE_EXTENSIONS.join(', ')})`);
    }
    files.push(...list);
    for (let i = 0; i < list.length; i++) labels.push(label);
  });
  return { classNames: classDirs, files, labels, ignored, skipped: listing.skipped };
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      signal?.throwIfAborted();
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const IMAGE_FOLDER_OPTIONS = keysOf<ImageFolderOptions>()({
  inputShape: true, mean: true, std: true, fit: true, resize: true, augment: true, cache: true, maxCacheBytes: true,
  maxCorruptFraction: true, concurrency: true, logger: true, signal: true,
});

function checkFolderOptions(options: ImageFolderOptions) {
  checkOptions(options, IMAGE_FOLDER_OPTIONS, 'imageFolder');
  const shape = options.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v > 0) || (shape[2] !== 1 && shape[2] !== 3)) {
    throw new InputError(`inputShape must be [height, width, channels] with channels 1 or 3; received \`inputShape=${received(shape)}\``);
  }
  return {
    shape: [...shape] as [number, number, number],
    mean: checkPerChannel('mean', options.mean ?? [0.5], shape[2]),
    std: checkPerChannel('std', options.std ?? [0.5], shape[2], { positive: true }),
    fraction: checkNumber('maxCorruptFraction', options.maxCorruptFraction ?? 0.05, { min: 0, max: 1 }),
    cache: checkOneOf('cache', options.cache ?? 'auto', ['auto', 'memory', 'stream']),
    augment: checkAugment(options.augment),
  };
}

/**
 * Reads an image classification folder, `DIR/<class>/<image>` (PNG, JPEG, WebP, GIF; nested
 * folders inside a class are included), as a {@link Dataset}: classes sorted by name, images
 * decoded and resized with sharp to `inputShape`, converted to 1 or 3 channels, and normalized
 * with (x − mean) / std over [0, 1] pixels.
 *
 * Small folders are decoded once and cached as uint8 (`summary.mode === 'memory'`); larger
 * ones are decoded batch by batch (`'stream'`): the trainer requests the next batch while it
 * trains on the current one, so at most a couple of batches are held decoded.
 *
 * Errors (InputError, one line naming the folder): missing folder, no class folders, a single
 * class, an empty class folder, no images, or more than `maxCorruptFraction` undecodable
 * images. Fewer undecodable images are skipped with a warning naming each file; files with
 * other extensions are ignored and counted in `summary.ignored`.
 *
 * @example
 * const folder = await imageFolder('data/flowers', { inputShape: [96, 96, 3], logger: stderrLogger });
 * console.log(folder.describe());
 * const { x, y } = await folder.batch([0, 1, 2, 3]);
 */
export async function imageFolder(dir: string, options: ImageFolderOptions): Promise<ImageFolder> {
  const { shape, mean, std, fraction, cache, augment } = checkFolderOptions(options);
  const logger = options.logger ?? silentLogger;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
  const found = await scanImageFolder(dir);
  for (const { path: where, reason } of found.skipped) logger.warn(`skipping ${where}: ${reason}`);
  const imageBytes = shape[0] * shape[1] * shape[2];
  const mode: CacheMode =
    cache === 'auto' ? (found.files.length * imageBytes <= (options.maxCacheBytes ?? 512 * 2 ** 20) ? 'memory' : 'stream') : cache;

  const corrupt = new Set<string>();
  const skip = (file: string, error: unknown) => {
    if (corrupt.has(file)) return;
    corrupt.add(file);
    logger.warn(`skipping ${file}: cannot decode it (${(error as Error).message?.split('\n')[0] ?? error})`);
  };
  // Decodes finish in any order; the example named is the first by path, the same on every run.
  const checkCorrupt = (total: number) => {
    if (corrupt.size > fraction * total) {
      throw new InputError(
        `${dir}: ${corrupt.size} of ${total} images cannot be decoded (more than maxCorruptFraction=${fraction}, --max-corrupt-fraction on the CLI), e.g. ${[...corrupt].sort()[0]}`,
      );
    }
  };

  // Memory mode decodes everything now; stream mode reads the headers now (catching files that
  // are not images at all) and decodes later, skipping a file that then fails.
  let pixels: (Uint8Array | null)[] = [];
  if (mode === 'memory') {
    pixels = await mapLimit(found.files, concurrency, (file) =>
      decodeImage(file, shape, { fit: options.fit, resize: options.resize }).catch((error) => (skip(file, error), null)),
    options.signal);
  } else {
    await mapLimit(found.files, concurrency, (file) => probeImage(file).catch((error) => skip(file, error)), options.signal);
  }
  checkCorrupt(found.files.length);

  const keep = found.files.map((file) => !corrupt.has(file));
  const files = found.files.filter((_, i) => keep[i]);
  const labels = Int32Array.from(found.labels.filter((_, i) => keep[i]));
  const cached = mode === 'memory' ? new Uint8Array(files.length * imageBytes) : null;
  if (cached) pixels.filter((p): p is Uint8Array => p !== null).forEach((p, i) => cached.set(p, i * imageBytes));
  pixels = [];
  const counts = found.classNames.map(() => 0);
  labels.forEach((label) => counts[label]++);
  const emptyClass = counts.indexOf(0);
  if (emptyClass >= 0) {
    throw new InputError(`${path.join(dir, found.classNames[emptyClass])}: no decodable images; every class folder needs at least one`);
  }

  const summary: ImageFolderSummary = { dir, counts, ignored: found.ignored, corrupt: [...corrupt], skipped: found.skipped, mode };

  async function load(indices: number[]): Promise<{ data: Float32Array; kept: number[] }> {
    const data = new Float32Array(indices.length * imageBytes);
    const kept: number[] = [];
    const decoded = cached
      ? indices.map((i) => cached.subarray(i * imageBytes, (i + 1) * imageBytes))
      : await mapLimit(indices, concurrency, (i) =>
          decodeImage(files[i], shape, { fit: options.fit, resize: options.resize }).catch((error) => (skip(files[i], error), null)),
        );
    decoded.forEach((image, k) => {
      if (!image) return;
      const offset = kept.length * imageBytes;
      for (let j = 0; j < imageBytes; j++) data[offset + j] = image[j] / 255;
      kept.push(indices[k]);
    });
    if (!cached) {
      summary.corrupt = [...corrupt];
      checkCorrupt(files.length);
    }
    return { data: kept.length === indices.length ? data : data.subarray(0, kept.length * imageBytes), kept };
  }

  return {
    length: files.length,
    classNames: found.classNames,
    inputShape: shape,
    mean,
    std,
    files,
    summary,
    labels: () => labels.slice(),
    async batch(batchIndices: ArrayLike<number>, batchOptions: BatchOptions = {}): Promise<Batch> {
      const indices = Array.from(batchIndices);
      for (const i of indices) {
        if (!Number.isInteger(i) || i < 0 || i >= files.length) {
          throw new InputError(`batch index ${received(i)} is out of range [0, ${files.length}) for ${dir}`);
        }
      }
      const { data, kept } = await load(indices);
      const random = batchOptions.random ?? Math.random;
      return tf.tidy(() => {
        let x = tf.tensor4d(data, [kept.length, ...shape]);
        if (batchOptions.augment && augment && kept.length > 0) x = augmentBatch(x, augment, random);
        const normalized = x.sub(tf.tensor1d(mean)).div(tf.tensor1d(std)) as tf.Tensor4D;
        return { x: normalized, y: tf.tensor1d(Int32Array.from(kept, (i) => labels[i]), 'int32') };
      });
    },
    describe(): string {
      const ignoredCount = Object.values(summary.ignored).reduce((a, b) => a + b, 0);
      const ignoredText = ignoredCount
        ? `${ignoredCount} other files ignored (${Object.entries(summary.ignored).map(([ext, n]) => `${ext || 'no extension'}: ${n}`).join(', ')})`
        : 'no other files';
      const megabytes = ((files.length * imageBytes) / 2 ** 20).toFixed(1);
      const modeText = mode === 'memory' ? `cached in memory (${megabytes} MiB)` : `decoded per batch from disk (${megabytes} MiB in all)`;
      const perClass = found.classNames.slice(0, 10).map((name, i) => `${name}: ${counts[i]}`);
      if (found.classNames.length > 10) perClass.push('...');
      return (
        `${dir}: ${found.classNames.length} classes, ${files.length} images (${perClass.join(', ')}), ${ignoredText}, ` +
        `${summary.corrupt.length} corrupt skipped, ${shape.join('x')}, ${modeText}`
      );
    },
  };
}
