import type { AugmentOptions } from '../data/augment.js';
import type { ResizeFit } from '../data/decodeImage.js';
import { type CacheMode, imageFolder, scanImageFolder } from '../data/imageFolder.js';
import { stratifiedSplit } from '../data/split.js';
import { subset } from '../data/subset.js';
import { type Logger, silentLogger } from '../logger.js';
import { checkOptions, keysOf } from '../options/check.js';
import { FINE_TUNE_OPTIONS, fineTune, type FineTuneOptions, type FineTuneResult } from './finetune.js';
import { loadStartingPoint, type TableName } from './start.js';
import type { PretrainedFileOptions } from '../pretrained/pretrainedFile.js';

/** Options of {@link fineTuneImageFolder}: where the data and weights are, plus {@link fineTune}'s options. */
export interface FineTuneFolderOptions extends Omit<FineTuneOptions, 'validationData' | 'augment' | 'logger' | 'seed'> {
  /** The image folder, `DIR/<class>/<image>`. */
  data: string;
  /**
   * Starting point: 'imagenet' (or 'IMAGENET1K_V1' / 'IMAGENET1K_V2', downloaded once), a model
   * directory, a torchvision state_dict (`.pth` or `.safetensors`), or undefined (random).
   */
  weights?: string;
  /** Cache directory, mirror URL and download progress for weights given by name. Default: see `pretrainedFile`. */
  pretrained?: PretrainedFileOptions;
  /** Fraction of every class held out for validation, in [0, 1). Default 0.1. */
  valSplit?: number;
  /** Seeds the split, new weights, shuffling and augmentation. Default random (reported in the result). */
  seed?: number;
  /** Random start only: architecture, width, channels. See {@link loadStartingPoint}. */
  arch?: TableName;
  alpha?: number;
  channels?: 1 | 3;
  /** Input [height, width]. Default: the starting point's. */
  inputSize?: readonly [number, number];
  /** Normalization over [0, 1] pixels. Default: the starting point's. */
  mean?: readonly number[];
  std?: readonly number[];
  /** Re-initialize the classifier even when the class names match the checkpoint's. Default false. */
  newHead?: boolean;
  /** Training augmentation. Default none. */
  augment?: AugmentOptions;
  /** Decoded-image cache. Default 'auto'. */
  cache?: CacheMode | 'auto';
  /** Default 'cover'. */
  fit?: ResizeFit;
  /** Default 0.05. */
  maxCorruptFraction?: number;
  logger?: Logger;
}

export interface FineTuneFolderResult extends FineTuneResult {
  out: string;
  classNames: string[];
  /** Epochs run (fewer than asked when early stopping ended it). */
  epochs: number;
  trainImages: number;
  valImages: number;
  /** Whether decoded images were cached in memory or decoded per batch. */
  cacheMode: CacheMode;
  /** The starting point and the data, one line each, as logged. */
  startDescription: string;
  dataDescription: string;
}

const FOLDER_OPTIONS = keysOf<FineTuneFolderOptions>()({
  epochs: true, batchSize: true, learningRate: true, freezeFeatures: true, unfreezeAfter: true, unfreezeLrFactor: true, patience: true,
  optimizer: true, labelSmoothing: true, out: true, metadata: true, workers: true, recalibrateBatchNorm: true, callbacks: true,
  augment: true, logger: true, seed: true, data: true, weights: true, pretrained: true, valSplit: true, arch: true, alpha: true,
  channels: true, inputSize: true, mean: true, std: true, newHead: true, cache: true, fit: true, maxCorruptFraction: true,
});

const timestamp = () => new Date().toISOString().replace(/[:.]/g, '-').replace('T', '-').slice(0, 19);

/**
 * The whole fine-tuning workflow behind `mobilenetv2 finetune`: scan the folder, build the
 * starting point for its classes, decode the images to the model's input shape and
 * normalization, split them (stratified, seeded), fine-tune, and save to `out`.
 *
 * @example
 * const r = await fineTuneImageFolder({ data: 'data/digits', weights: 'runs/mnist', epochs: 4, unfreezeAfter: 1, out: 'runs/digits' });
 * console.log(r.valAccuracy, r.out);
 */
export async function fineTuneImageFolder(options: FineTuneFolderOptions): Promise<FineTuneFolderResult> {
  checkOptions(options, FOLDER_OPTIONS, 'fineTuneImageFolder');
  const logger = options.logger ?? silentLogger;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const out = options.out ?? `runs/finetune-${timestamp()}`;
  const { classNames } = await scanImageFolder(options.data);
  const start = await loadStartingPoint({
    weights: options.weights, pretrained: options.pretrained, classNames, arch: options.arch, alpha: options.alpha, channels: options.channels,
    inputSize: options.inputSize, mean: options.mean, std: options.std, newHead: options.newHead, seed, logger,
  });
  const startDescription = start.describe();
  logger.info(`starting point: ${startDescription}`);
  try {
    const folder = await imageFolder(options.data, {
      inputShape: start.inputShape, mean: start.mean, std: start.std, resize: start.resize, augment: options.augment,
      cache: options.cache, fit: options.fit, maxCorruptFraction: options.maxCorruptFraction, logger,
    });
    const dataDescription = folder.describe();
    logger.info(`data: ${dataDescription}`);
    const split = stratifiedSplit(folder.labels(), options.valSplit ?? 0.1, seed);
    logger.info(`split: ${split.train.length} training and ${split.val.length} validation images (seed ${seed})`);
    const tuning = Object.fromEntries(Object.entries(options).filter(([key]) => (FINE_TUNE_OPTIONS as string[]).includes(key)));
    const result = await fineTune(start.model, subset(folder, split.train), {
      ...tuning,
      seed,
      out,
      logger,
      validationData: split.val.length > 0 ? subset(folder, split.val) : undefined,
      augment: true,
      // `resize` goes with the model so that predict frames images as training did.
      metadata: { ...options.metadata, startingPoint: options.weights ?? 'random', dataset: options.data, ...(start.resize && { resize: start.resize }) },
    });
    return {
      ...result, out, classNames, epochs: result.history.length,
      trainImages: split.train.length, valImages: split.val.length, cacheMode: folder.summary.mode,
      startDescription, dataDescription,
    };
  } finally {
    start.model.dispose();
  }
}
