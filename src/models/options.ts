import { InputError, received } from '../errors.js';
import { BATCH_NORM_DEFAULTS, type BatchNormOptions } from '../layers/batchNorm.js';

/** One row of the architecture table: expansion t, output channels c, repeats n, first stride s. */
export type InvertedResidualRow = readonly [t: number, c: number, n: number, s: number];

/** What the network ends with when `includeTop` is false. */
export type Pooling = 'avg' | 'max' | 'none';

/** Options of {@link mobileNetV2}. Every field is optional; defaults follow the paper and torchvision. */
export interface MobileNetV2Options {
  /** [height, width, channels], NHWC. Default [224, 224, 3]. Height and width must be at least the network's total stride (32 for the default table). */
  inputShape?: readonly [number, number, number];
  /** Classifier outputs. Default 1000. */
  numClasses?: number;
  /** Width multiplier α: scales every layer's channels. Default 1.0. */
  alpha?: number;
  /** The t, c, n, s table. Default: the paper's 7 rows (Table 2). */
  invertedResidualSetting?: readonly InvertedResidualRow[];
  /** Channel counts are rounded to a multiple of this. Default 8. */
  roundNearest?: number;
  /** Channels of the stem conv, before α. Default 32. */
  firstChannels?: number;
  /** Channels of the last 1×1 conv, final (α is not applied). Default makeDivisible(1280 · max(1, α)). */
  lastChannels?: number;
  /** Dropout rate before the classifier. Default 0.2. */
  dropout?: number;
  /** Add pooling, dropout and the Dense classifier. Default true. */
  includeTop?: boolean;
  /** Global pooling when `includeTop` is false. Default 'none' (the 4D feature map). */
  pooling?: Pooling;
  /** 'linear' outputs logits, like torchvision. Default 'linear'. */
  classifierActivation?: 'linear' | 'softmax';
  /** Default { epsilon: 1e-5, momentum: 0.1 } (PyTorch's convention). */
  batchNorm?: BatchNormOptions;
  /** Seeds the weight initialization. Default: unseeded. */
  seed?: number;
  /** Model name. Default `mobilenetv2_<alpha>_<height>`. */
  name?: string;
}

function fail(what: string, value: unknown): never {
  throw new InputError(`${what}; received \`${value}\``);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function checkPositiveInt(name: string, value: unknown): number {
  if (!isInt(value) || value < 1) fail(`${name} must be an integer >= 1`, `${name}=${received(value)}`);
  return value;
}

export function checkSeed(value: unknown): number {
  if (!isInt(value) || value < 0) fail('seed must be an integer >= 0', `seed=${received(value)}`);
  return value;
}

export function checkAlpha(value: unknown): number {
  if (!isFinite(value) || value <= 0) fail('alpha must be a finite number > 0', `alpha=${received(value)}`);
  return value;
}

export function checkTable(table: unknown): InvertedResidualRow[] {
  const name = 'invertedResidualSetting';
  if (!Array.isArray(table) || table.length === 0) {
    fail(`${name} must be a non-empty array of [t, c, n, s] rows`, `${name}=${received(table)}`);
  }
  table.forEach((row: unknown, i: number) => {
    if (!Array.isArray(row) || row.length !== 4 || !row.every((v) => isInt(v) && v > 0)) {
      fail(`${name}[${i}] must be 4 positive integers [t, c, n, s]`, `${name}[${i}]=${received(row)}`);
    }
    if (row[3] !== 1 && row[3] !== 2) {
      fail(`${name}[${i}] stride s must be 1 or 2`, `${name}[${i}]=${received(row)}`);
    }
  });
  return table as InvertedResidualRow[];
}

export function checkInputShape(value: unknown, minSize: number): [number, number, number] {
  const name = 'inputShape';
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => isInt(v) && v > 0)) {
    fail(`${name} must be [height, width, channels] of positive integers`, `${name}=${received(value)}`);
  }
  const [h, w] = value as number[];
  if (h < minSize || w < minSize) {
    fail(`${name} height and width must be >= ${minSize}, the network's total stride`, `${name}=${received(value)}`);
  }
  return value as [number, number, number];
}

export function checkRate(name: string, value: unknown): number {
  if (!isFinite(value) || value < 0 || value >= 1) fail(`${name} must be a number in [0, 1)`, `${name}=${received(value)}`);
  return value;
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    fail(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`, `${name}=${received(value)}`);
  }
  return value as T;
}

export function checkBatchNorm(value: BatchNormOptions | undefined): Required<BatchNormOptions> {
  const { epsilon, momentum } = { ...BATCH_NORM_DEFAULTS, ...value };
  if (!isFinite(epsilon) || epsilon <= 0) fail('batchNorm.epsilon must be a finite number > 0', `batchNorm.epsilon=${received(epsilon)}`);
  if (!isFinite(momentum) || momentum < 0 || momentum > 1) fail('batchNorm.momentum must be a number in [0, 1]', `batchNorm.momentum=${received(momentum)}`);
  return { epsilon, momentum };
}

/** Rejects option names that do not exist, so a typo (`numClass`) is not silently ignored. */
export function checkKnownKeys(options: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    // Keras' MobileNetV2(weights='imagenet') is the spelling users try first; ours is a separate function.
    const hint = key === 'weights' ? "; for torchvision's ImageNet weights call pretrainedMobileNetV2({ weights: 'imagenet' })" : '';
    fail(`unknown ${what} option '${key}'${hint}; allowed: ${known.join(', ')}`, key);
  }
}
