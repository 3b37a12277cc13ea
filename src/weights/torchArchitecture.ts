import { InputError } from '../errors.js';
import { makeDivisible } from '../layers/makeDivisible.js';
import { MNIST_SETTING, mobileNetV2Mnist } from '../models/mnist.js';
import { IMAGENET_SETTING, mobileNetV2 } from '../models/mobilenetv2.js';
import type { InvertedResidualRow } from '../models/options.js';
import type { tf } from '../tf.js';
import type { SafetensorsFile } from './safetensors.js';

/** The two MobileNetV2 tables this library builds: torchvision's (ImageNet) and the seed MNIST one. */
export type TableName = 'imagenet' | 'mnist';

const TABLES: Record<TableName, readonly InvertedResidualRow[]> = { imagenet: IMAGENET_SETTING, mnist: MNIST_SETTING };

/** Width multipliers tried, most common first: torchvision's and Keras's published ones, then others. */
const ALPHAS = [1, 0.5, 0.75, 0.35, 1.3, 1.4, 0.25, 0.1, 1.5, 2];

/** What a torchvision MobileNetV2 state_dict says about the model that made it. */
export interface TorchArchitecture {
  arch: TableName;
  /** The width multiplier that reproduces every block's channel count. */
  alpha: number;
  /** Input channels (the stem's). */
  channels: number;
  /** Channels of the last conv. */
  lastChannels: number;
  /** Outputs of the classifier (`classifier.1`), or null when the state_dict has none. */
  numClasses: number | null;
}

/**
 * Measures a torchvision MobileNetV2 state_dict (`torchvision.models.mobilenet_v2(width_mult=α,
 * num_classes=N)`, or this library's MNIST variant): which table (by its block count), input
 * channels, width multiplier, last conv width and classes. Throws an `InputError` naming `where`
 * when the keys are not those of such a model.
 *
 * @example
 * measureTorchMobileNetV2(parseStateDict(bytes), 'mine.pth'); // { arch: 'imagenet', alpha: 0.5, channels: 3, lastChannels: 1280, numClasses: 5 }
 */
export function measureTorchMobileNetV2(file: SafetensorsFile, where: string): TorchArchitecture {
  const shape = (key: string) => file.tensors.get(key)?.shape;
  let blocks = 0;
  while (file.tensors.has(`features.${blocks + 1}.conv.0.0.weight`)) blocks++;
  const arch = (Object.keys(TABLES) as TableName[]).find((a) => TABLES[a].reduce((n, row) => n + row[2], 0) === blocks);
  const stem = shape('features.0.0.weight');
  const last = shape(`features.${blocks + 1}.0.weight`);
  if (!arch || !stem || stem.length !== 4 || !last) {
    throw new InputError(
      `${where}: not a torchvision MobileNetV2 state_dict (found ${blocks} inverted residual blocks; expected 17, or 10 for the MNIST variant)`,
    );
  }
  const projections: number[] = [];
  let block = 0;
  for (const [t, , n] of TABLES[arch]) {
    for (let i = 0; i < n; i++, block++) {
      projections.push(shape(`features.${block + 1}.conv.${t === 1 ? 1 : 2}.weight`)?.[0] ?? -1);
    }
  }
  const rows = TABLES[arch].flatMap(([, c, n]) => new Array<number>(n).fill(c));
  const alpha = ALPHAS.find((a) => makeDivisible(32 * a, 8) === stem[0] && rows.every((c, i) => makeDivisible(c * a, 8) === projections[i]));
  if (alpha === undefined) throw new InputError(`${where}: cannot tell the width multiplier from its channel counts (stem has ${stem[0]} channels)`);
  const head = shape('classifier.1.weight');
  return { arch, alpha, channels: stem[1]!, lastChannels: last[0]!, numClasses: head?.length === 2 ? head[0]! : null };
}

/** Options of {@link buildTorchMobileNetV2}. */
export interface TorchBuildOptions {
  numClasses: number;
  inputShape: [number, number, number];
  alpha?: number;
  seed?: number;
  lastChannels?: number;
  includeTop?: boolean;
  pooling?: 'avg' | 'none';
}

/** The stock-layer model of `arch` (its builder's defaults for what `options` leaves out). */
export function buildTorchMobileNetV2(arch: TableName, options: TorchBuildOptions): tf.LayersModel {
  const { lastChannels, ...rest } = options;
  return arch === 'mnist'
    ? mobileNetV2Mnist({ ...rest, ...(lastChannels && { lastChannels }) })
    : mobileNetV2({ ...rest, ...(lastChannels && { lastChannels }) });
}
