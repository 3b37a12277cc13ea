import type { AugmentOptions } from '../data/augment.js';
import type { ResizeFit } from '../data/decodeImage.js';
import { type CacheMode, imageFolder, scanImageFolder } from '../data/imageFolder.js';
import { stratifiedSplit } from '../data/split.js';
import { subset } from '../data/subset.js';
import { InputError, received } from '../errors.js';
import { lockNewRunDirectory, lockRunDirectory } from '../io/runLock.js';
import { type Logger, silentLogger } from '../logger.js';
import { tf } from '../tf.js';
import { alreadyTrained, type Checkpoint, loadCheckpoint, resumedRunDir, warnIfReplacingRun } from '../training/checkpoint.js';
import { checkOptions, checkRate, keysOf } from '../options/check.js';
import { FINE_TUNE_OPTIONS, fineTune, type FineTuneOptions, type FineTuneResult } from './finetune.js';
import { loadStartingPoint, type TableName } from './start.js';
import type { PretrainedFileOptions } from '../pretrained/pretrainedFile.js';

/** Options of {@link fineTuneImageFolder}: where the data and weights are, plus {@link fineTune}'s options. */
export interface FineTuneFolderOptions extends Omit<FineTuneOptions, 'validationData' | 'augment' | 'logger' | 'seed' | 'resume' | 'config'> {
  /** Training batch size. Default: {@link smallFolderBatchSize} of the training images (32 from 256 images up). */
  batchSize?: number;
  /** The image folder, `DIR/<class>/<image>`. Required, except when resuming (then default: the resumed run's). */
  data?: string;
  /**
   * Continue the run in this directory (or its `last/`), written by an earlier call that was
   * stopped: same data, split, stages and settings, from the stage and epoch where it stopped.
   * Only `epochs`, `out`, `data`, `workers`, `cache` and the callbacks may change. Default: a fresh run.
   */
  resume?: string;
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
  /** Input size, N or [height, width]. Default: the starting point's. */
  inputSize?: number | readonly [number, number];
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
  resume: true, logEvery: true, signal: true,
});

/**
 * The default batch size for `trainImages` images: 32, or fewer for a small folder, so that an
 * epoch has at least 8 optimizer steps (never fewer than 8 images, which BatchNorm's batch
 * statistics need). A folder of 3 × 20 images trained from scratch (54 for training) gets 7
 * steps of 8 instead of 2 of 32 per epoch; at 10 epochs, with recalibration, validation accuracy
 * reached 83-100% on three kinds of images (docs/performance.md, "BatchNorm recalibration").
 */
export function smallFolderBatchSize(trainImages: number): number {
  return Math.min(32, Math.max(8, Math.ceil(trainImages / 8)));
}

/** The settings a run keeps in its checkpoints, for a resume: the options as given, and what they resolved to. */
interface FolderRun {
  options: Partial<Record<(typeof KEPT)[number], unknown>>;
  data: string;
  seed: number;
  classNames: string[];
  inputShape: [number, number, number];
  mean: number[];
  std: number[];
  resize: number | null;
}

/** Options a resumed run keeps: giving another value is an error. */
const KEPT = [
  'weights', 'valSplit', 'arch', 'alpha', 'channels', 'inputSize', 'mean', 'std', 'newHead', 'augment', 'fit', 'maxCorruptFraction',
  'batchSize', 'learningRate', 'freezeFeatures', 'unfreezeAfter', 'unfreezeLrFactor', 'patience', 'optimizer', 'labelSmoothing',
  'recalibrateBatchNorm',
] as const;

/** A setting in a comparable form: unset, false and an augmentation that does nothing are all "off". */
function settingKey(value: unknown): string {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    value = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== false && v !== 0));
    if (Object.keys(value as object).length === 0) value = undefined;
  }
  return value === undefined || value === null || value === false ? 'off' : JSON.stringify(value);
}

function keptOptions(options: FineTuneFolderOptions): FolderRun['options'] {
  return Object.fromEntries(KEPT.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
}

/** The resumed run's settings, after checking that `options` does not contradict them. */
function resumedRun(checkpoint: Checkpoint, options: FineTuneFolderOptions): FolderRun {
  const run = checkpoint.state.config?.imageFolder as FolderRun | undefined;
  if (!run || typeof run.data !== 'string' || !Array.isArray(run.classNames)) {
    throw new InputError(`${options.resume}: the checkpoint was not written by fineTuneImageFolder (no image-folder settings in its state.json)`);
  }
  for (const key of KEPT) {
    if (options[key] !== undefined && settingKey(options[key]) !== settingKey(run.options[key])) {
      const saved = run.options[key] === undefined ? `${key} (the default)` : `${key}=${received(run.options[key])}`;
      throw new InputError(`${key}=${received(options[key])} differs from the resumed run's ${saved}; `
        + 'a resumed run keeps its settings (only epochs, out, data, workers and cache may change)');
    }
  }
  if (options.seed !== undefined && options.seed !== run.seed) {
    throw new InputError(`seed=${options.seed} differs from the resumed run's seed=${run.seed}; the split and shuffles depend on it`);
  }
  alreadyTrained(options.resume!, options.epochs, checkpoint.state.epoch);
  return run;
}

/**
 * The whole fine-tuning workflow behind `mobilenetv2 finetune`: scan the folder, build the
 * starting point for its classes, decode the images to the model's input shape and
 * normalization, split them (stratified, seeded), fine-tune, and save to `out`. With `resume`,
 * continues a stopped run from its `last/` checkpoint instead. The output directory is locked
 * for the whole call (see `lockRunDirectory`).
 *
 * @example
 * const r = await fineTuneImageFolder({ data: 'data/digits', weights: 'runs/mnist', epochs: 4, unfreezeAfter: 1, out: 'runs/digits' });
 * console.log(r.valAccuracy, r.out);
 */
export async function fineTuneImageFolder(options: FineTuneFolderOptions): Promise<FineTuneFolderResult> {
  checkOptions(options, FOLDER_OPTIONS, 'fineTuneImageFolder');
  if (options.valSplit !== undefined) checkRate('valSplit', options.valSplit);
  if (options.data === undefined && options.resume === undefined) throw new InputError('data is required: the image folder, DIR/<class>/<image>');
  const resumeDir = options.resume === undefined ? undefined : await resumedRunDir(options.resume);
  const given = options.out ?? resumeDir;
  const { dir: out, lock } = given === undefined ? await lockNewRunDirectory('finetune') : { dir: given, lock: await lockRunDirectory(given) };
  try {
    return await fineTuneLocked(options, out);
  } finally {
    await lock.release();
  }
}

async function fineTuneLocked(options: FineTuneFolderOptions, out: string): Promise<FineTuneFolderResult> {
  const logger = options.logger ?? silentLogger;
  options.signal?.throwIfAborted();
  if (options.resume === undefined) await warnIfReplacingRun(out, logger);
  const checkpoint = options.resume === undefined ? undefined : await loadCheckpoint(options.resume);
  let model = checkpoint?.model;
  try {
    let run: FolderRun;
    let startDescription: string;
    if (checkpoint) {
      run = resumedRun(checkpoint, options);
      run = { ...run, data: options.data ?? run.data };
      startDescription = `${checkpoint.dir} (resumed after epoch ${checkpoint.state.epoch})`;
      const { classNames } = await scanImageFolder(run.data);
      if (classNames.join('\n') !== run.classNames.join('\n')) {
        throw new InputError(`${run.data}: classes ${received(classNames)} differ from the resumed run's ${received(run.classNames)}; resume on the same image folder`);
      }
    } else {
      const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
      const { classNames } = await scanImageFolder(options.data!);
      const start = await loadStartingPoint({
        weights: options.weights, pretrained: options.pretrained, classNames, arch: options.arch, alpha: options.alpha, channels: options.channels,
        inputSize: options.inputSize, mean: options.mean, std: options.std, newHead: options.newHead, seed, logger,
      });
      model = start.model;
      startDescription = start.describe();
      run = {
        options: keptOptions(options), data: options.data!, seed, classNames,
        inputShape: start.inputShape, mean: start.mean, std: start.std, resize: start.resize ?? null,
      };
    }
    logger.info(`starting point: ${startDescription}`);
    const resize = run.resize ?? undefined;
    const folder = await imageFolder(run.data, {
      inputShape: run.inputShape, mean: run.mean, std: run.std, resize, augment: run.options.augment as AugmentOptions | undefined,
      cache: options.cache, fit: run.options.fit as ResizeFit | undefined, maxCorruptFraction: run.options.maxCorruptFraction as number | undefined,
      logger, signal: options.signal,
    });
    const dataDescription = folder.describe();
    logger.info(`data: ${dataDescription}`);
    const split = stratifiedSplit(folder.labels(), (run.options.valSplit as number | undefined) ?? 0.1, run.seed);
    logger.info(`split: ${split.train.length} training and ${split.val.length} validation images (seed ${run.seed})`);
    const kept = run.options as Partial<FineTuneOptions>;
    const tuning = Object.fromEntries(Object.entries(options).filter(([key]) => (FINE_TUNE_OPTIONS as string[]).includes(key)));
    const result = await fineTune(model!, subset(folder, split.train), {
      ...tuning,
      recalibrateBatchNorm: kept.recalibrateBatchNorm,
      batchSize: kept.batchSize ?? smallFolderBatchSize(split.train.length), learningRate: kept.learningRate, freezeFeatures: kept.freezeFeatures, unfreezeAfter: kept.unfreezeAfter,
      unfreezeLrFactor: kept.unfreezeLrFactor, patience: kept.patience, optimizer: kept.optimizer, labelSmoothing: kept.labelSmoothing,
      epochs: options.epochs ?? (checkpoint?.state.config?.totalEpochs as number | undefined),
      seed: run.seed,
      out,
      logger,
      validationData: split.val.length > 0 ? subset(folder, split.val) : undefined,
      augment: true,
      resume: checkpoint,
      config: { imageFolder: run },
      // `resize` goes with the model so that predict frames images as training did.
      metadata: { ...options.metadata, startingPoint: (run.options.weights as string | undefined) ?? 'random', dataset: run.data, ...(resize && { resize }) },
    });
    return {
      ...result, out, classNames: run.classNames, epochs: result.history.length,
      trainImages: split.train.length, valImages: split.val.length, cacheMode: folder.summary.mode,
      startDescription, dataDescription,
    };
  } catch (error) {
    if (checkpoint) tf.dispose(checkpoint.optimizerWeights.map((w) => w.tensor));
    throw error;
  } finally {
    model?.dispose();
  }
}
