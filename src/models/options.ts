import { InputError, received } from '../errors.js';
import { checkInt, checkNumber, checkOptions } from '../options/check.js';
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

export { checkOneOf, checkPositiveInt, checkRate } from '../options/check.js';

export const checkSeed = (value: unknown): number => checkInt('seed', value, { min: 0 });

export const checkAlpha = (value: unknown): number => checkNumber('alpha', value, { above: 0 });

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

export function checkBatchNorm(value: BatchNormOptions | undefined): Required<BatchNormOptions> {
  checkOptions(value, ['epsilon', 'momentum'], 'batchNorm');
  const { epsilon, momentum } = { ...BATCH_NORM_DEFAULTS, ...value };
  return {
    epsilon: checkNumber('batchNorm.epsilon', epsilon, { above: 0 }),
    momentum: checkNumber('batchNorm.momentum', momentum, { min: 0, max: 1 }),
  };
}
