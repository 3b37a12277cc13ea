import type { Dataset } from '../data/dataset.js';
import { InputError } from '../errors.js';
import { checkInt, checkNumber, checkOneOf, checkOptions, keysOf } from '../options/check.js';
import { loadModel } from '../io/fileSystem.js';
import { lockRunDirectory } from '../io/runLock.js';
import { type Logger, silentLogger } from '../logger.js';
import { tf } from '../tf.js';
import type { Checkpoint, TrainerState } from '../training/checkpoint.js';
import { evaluate } from '../training/evaluate.js';
import { writeConfusionMatrix } from './confusion.js';
import { copyWeightsByName, freezeFeatures } from './model.js';
import type { WorkersOption } from '../parallel/workers.js';
import { type OptimizerName, train, type TrainResult } from '../training/trainer.js';
import type { EpochMetrics, TrainCallbacks } from '../training/types.js';

/** Options of {@link fineTune}. Every field is optional. */
export interface FineTuneOptions {
  /** Total epochs, both stages together. Default 5. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Learning rate of the first stage. Default 1e-3. */
  learningRate?: number;
  /** Train only the classifier, for every epoch. Default false. */
  freezeFeatures?: boolean;
  /**
   * Two stages: train only the classifier for this many epochs, then every layer at
   * `learningRate × unfreezeLrFactor`. Default: one stage (see `freezeFeatures`).
   */
  unfreezeAfter?: number;
  /** Learning-rate factor of the second stage. Default 0.1. */
  unfreezeLrFactor?: number;
  /**
   * Early stopping: end a stage when validation accuracy has not improved for this many
   * epochs (the first stage hands over to the second). Default: off.
   */
  patience?: number;
  /** Evaluated after every epoch; the best epoch by its accuracy is kept. Strongly recommended. */
  validationData?: Dataset;
  /** Ask the dataset for augmented batches (it augments only if it was given augmentation options). Default true. */
  augment?: boolean;
  /** Default 'adam'. */
  optimizer?: OptimizerName;
  /** Default 0. */
  labelSmoothing?: number;
  /**
   * Output directory: `model.json` (best epoch by validation accuracy, plain TF.js with
   * classNames, mean, std and inputShape in its metadata), `last/`, `metrics.jsonl`,
   * `loss`/`accuracy` plots and `confusion.{svg,png}` (validation confusion matrix of the best
   * model). With `out`, the returned model holds the best epoch's weights. Default: nothing written.
   */
  out?: string;
  /** Seeds shuffling and augmentation. Default random. */
  seed?: number;
  /** Extra `userDefinedMetadata` for saved models (e.g. where the weights came from). */
  metadata?: Record<string, unknown>;
  /** Data-parallel ranks, or 'auto' for one per core (see `TrainOptions.workers`). Default 1. */
  workers?: WorkersOption;
  /**
   * Precise BatchNorm: after every epoch of a stage that trains BatchNorm layers, re-estimate
   * their moving statistics from one pass over the training images (`recalibrateBatchNorm`),
   * before validation and checkpoints, so the saved model evaluates with statistics of its own
   * weights. 'auto' does it for short runs: fewer than {@link SHORT_RUN_STEPS} optimizer steps
   * in all. Frozen BatchNorm layers are never touched. Default 'auto'.
   */
  recalibrateBatchNorm?: boolean | 'auto';
  /** Steps between `onLog` calls and metrics.jsonl lines. Default 50. */
  logEvery?: number;
  /**
   * Continue a run from its checkpoint (`loadCheckpoint(out)`, whose model must be the `model`
   * passed in), written by an earlier `fineTune` with the same stages: it picks up in the stage
   * and epoch where that one stopped, with its optimizer state. Default: a fresh run.
   */
  resume?: Checkpoint;
  /** Stored in every checkpoint's trainer state (`fineTuneImageFolder` keeps its settings there). Default none. */
  config?: Record<string, unknown>;
  /** Stops the run when aborted (see `TrainOptions.signal`); rejects with `signal.reason`. Default: none. */
  signal?: AbortSignal;
  callbacks?: TrainCallbacks | TrainCallbacks[];
  logger?: Logger;
}

/** Where a checkpoint is in a fine-tuning run's stages; kept in its trainer state's config. */
interface StageMark {
  /** Index into the stage plan. */
  index: number;
  /** First epoch of that stage (an earlier stage may have stopped early). */
  firstEpoch: number;
}

/** One stage of a fine-tuning run. */
export interface FineTuneStage {
  /** 'head' trains the classifier only; 'all' trains every layer. */
  trains: 'head' | 'all';
  /** 1-based epochs of this stage. */
  firstEpoch: number;
  lastEpoch: number;
  learningRate: number;
  trainableParams: number;
  trainSeconds: number;
  trainImagesPerSec: number;
  /** Mean training wall time of one epoch. */
  secondsPerEpoch: number;
  stoppedEarly: boolean;
}

export interface FineTuneResult {
  /** Every epoch, both stages. */
  history: EpochMetrics[];
  best: EpochMetrics | null;
  stages: FineTuneStage[];
  /** Validation accuracy and loss of the returned model (the best epoch when `out` is set). */
  valAccuracy?: number;
  valLoss?: number;
  /** confusion[label][predicted] on the validation data, for the returned model. */
  confusion?: number[][];
  seed: number;
}

/**
 * Runs shorter than this many optimizer steps recalibrate BatchNorm by default. The moving
 * averages weigh the last ~1/momentum = 10 steps (PyTorch's momentum 0.1) and still hold 0.9^S
 * of their initial 0/1 after S steps, while early in a run the weights change quickly from step
 * to step, so the averages describe weights that no longer exist. Measured from scratch
 * (scripts/bn-recalibration.ts, docs/performance.md, "BatchNorm recalibration"): validation with the moving averages stayed at
 * chance for 60 steps and caught up with recalibrated statistics at about 100; after that the
 * two were within one image of 30, except where training wobbled (recalibrated 10-23 points
 * better). 200 is twice that point, a margin for slower problems; longer runs would pay a pass
 * per epoch (about a third of an epoch: a forward pass without the backward) for little.
 */
export const SHORT_RUN_STEPS = 200;

/** The warning when validation (evaluation mode) stays far below training-mode accuracy, or null. */
export function batchNormWarning(trainAccuracy: number, valAccuracy: number | undefined, steps: number, recalibrated: boolean, trainImages: number): string | null {
  if (valAccuracy === undefined || trainAccuracy - valAccuracy < 0.25) return null;
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const why = recalibrated
    ? `after ${steps} optimizer steps the weights fit ${trainImages} training images without generalizing`
    : `after ${steps} optimizer steps BatchNorm's moving statistics, which evaluation uses, lag the weights (or the model memorizes its ${trainImages} training images)`;
  return `validation accuracy ${pct(valAccuracy)} (evaluation mode) is far below training accuracy ${pct(trainAccuracy)} (training mode): ${why}; `
    + `what helps: more steps (epochs or images), ImageNet weights (--weights imagenet), training only the classifier (--freeze-features)`
    + (recalibrated ? '' : ', BatchNorm recalibration (--recalibrate-bn)');
}

/** The option names of {@link fineTune}. */
export const FINE_TUNE_OPTIONS = keysOf<FineTuneOptions>()({
  epochs: true, batchSize: true, learningRate: true, freezeFeatures: true, unfreezeAfter: true, unfreezeLrFactor: true, patience: true,
  validationData: true, augment: true, optimizer: true, labelSmoothing: true, out: true, seed: true, metadata: true, workers: true,
  recalibrateBatchNorm: true, callbacks: true, logger: true, logEvery: true, resume: true, config: true, signal: true,
});

/** Early stopping on validation accuracy; `seen` are the stage's epochs before a resume. */
function earlyStopping(patience: number | undefined, seen: readonly EpochMetrics[] = []): TrainCallbacks & { exhausted(): boolean } {
  let best = -Infinity;
  let waited = 0;
  const see = (metrics: EpochMetrics): 'stop' | undefined => {
    if (patience === undefined || metrics.valAccuracy === undefined) return undefined;
    if (metrics.valAccuracy > best) {
      best = metrics.valAccuracy;
      waited = 0;
      return undefined;
    }
    waited++;
    return waited >= patience ? 'stop' : undefined;
  };
  seen.forEach(see);
  return {
    onEpochEnd: see,
    exhausted: () => patience !== undefined && waited >= patience,
  };
}

/**
 * The trainer's resume state for a second stage that continues the first's epoch count,
 * history, best score and metrics.jsonl, with a fresh optimizer: Adam's moments are matched to
 * variables by position, and the set of trainable variables changes between stages.
 */
function continueFrom(model: tf.LayersModel, first: TrainResult, batchSize: number, optimizer: OptimizerName): Checkpoint {
  const state: TrainerState = {
    format: 'mobilenetv2-tfjs/trainer-state', version: 1,
    epoch: first.epochs, epochs: first.epochs, seed: first.seed, batchSize,
    globalStep: first.history.reduce((steps, h) => steps + Math.ceil(h.trainImages / batchSize), 0),
    history: first.history, best: first.best, optimizer: { name: optimizer, weights: [] },
  };
  // Optimizer.setWeights expects the iteration count first; zero moments follow lazily.
  return { dir: '', model, state, optimizerWeights: [{ name: 'iter', tensor: tf.scalar(0, 'int32') }] };
}

/**
 * Fine-tunes a classifier (e.g. from {@link loadStartingPoint}) on a dataset with the library's
 * trainer: optionally with frozen features, or in two stages (classifier first, then every
 * layer at a lower rate), with early stopping on validation accuracy.
 *
 * While the features are frozen no gradient flows into them (the trainer differentiates only
 * the trainable weights, and the tape prunes everything upstream of the classifier), and their
 * BatchNormalization layers run in inference mode, so their moving statistics stay as loaded.
 *
 * @example
 * const folder = await imageFolder('data/digits', { inputShape: start.inputShape, mean: start.mean, std: start.std });
 * const { train: t, val: v } = stratifiedSplit(folder.labels(), 0.1, 0);
 * const result = await fineTune(start.model, subset(folder, t), {
 *   validationData: subset(folder, v), unfreezeAfter: 2, epochs: 6, out: 'runs/digits',
 * });
 */
export async function fineTune(model: tf.LayersModel, data: Dataset, options: FineTuneOptions = {}): Promise<FineTuneResult> {
  checkOptions(options, FINE_TUNE_OPTIONS, 'fineTune');
  const epochs = checkInt('epochs', options.epochs ?? 5, { min: 1 });
  const batchSize = checkInt('batchSize', options.batchSize ?? 32, { min: 1 });
  const learningRate = checkNumber('learningRate', options.learningRate ?? 1e-3, { above: 0 });
  const factor = checkNumber('unfreezeLrFactor', options.unfreezeLrFactor ?? 0.1, { above: 0 });
  if (options.patience !== undefined) checkInt('patience', options.patience, { min: 1 });
  const unfreezeAfter = options.unfreezeAfter === undefined ? undefined : checkInt('unfreezeAfter', options.unfreezeAfter, { min: 0 });
  if (unfreezeAfter !== undefined && unfreezeAfter >= epochs) {
    throw new InputError(`unfreezeAfter must be < epochs (${epochs}) so that the second stage runs; received \`unfreezeAfter=${unfreezeAfter}\``);
  }
  const optimizer = options.optimizer ?? (options.resume?.state.optimizer.name as OptimizerName | undefined) ?? 'adam';
  const logger = options.logger ?? silentLogger;
  const callbacks = options.callbacks === undefined ? [] : Array.isArray(options.callbacks) ? options.callbacks : [options.callbacks];
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const recalibrate = checkOneOf('recalibrateBatchNorm', options.recalibrateBatchNorm ?? 'auto', [true, false, 'auto']);

  const plan: { trains: 'head' | 'all'; epochs: number; learningRate: number }[] =
    unfreezeAfter !== undefined
      ? [
          ...(unfreezeAfter > 0 ? [{ trains: 'head' as const, epochs: unfreezeAfter, learningRate }] : []),
          { trains: 'all', epochs: epochs - unfreezeAfter, learningRate: learningRate * factor },
        ]
      : [{ trains: options.freezeFeatures ? 'head' : 'all', epochs, learningRate }];

  // Held across the stages and the confusion matrix, not just each stage's train call.
  const lock = options.out
    ? await lockRunDirectory(options.out).catch((error: unknown) => {
      if (options.resume) tf.dispose(options.resume.optimizerWeights.map((w) => w.tensor));
      throw error;
    })
    : null;
  try {
    return await fineTuneStages(model, data, options, { epochs, batchSize, plan, optimizer, logger, callbacks, seed, recalibrate });
  } finally {
    await lock?.release();
  }
}

/** What {@link fineTune} checked and derived from its options. */
interface StagePlan {
  epochs: number;
  batchSize: number;
  plan: { trains: 'head' | 'all'; epochs: number; learningRate: number }[];
  optimizer: OptimizerName;
  logger: Logger;
  callbacks: TrainCallbacks[];
  seed: number;
  recalibrate: boolean | 'auto';
}

async function fineTuneStages(model: tf.LayersModel, data: Dataset, options: FineTuneOptions, checked: StagePlan): Promise<FineTuneResult> {
  const { epochs, batchSize, plan, optimizer, logger, callbacks, seed, recalibrate } = checked;
  const stages: FineTuneStage[] = [];
  const totalSteps = epochs * Math.ceil(data.length / batchSize);
  let recalibrated = false;
  const resume = options.resume;
  const mark = resume?.state.config?.fineTuneStage as StageMark | undefined;
  if (resume && (!mark || !Number.isInteger(mark.index) || mark.index >= plan.length)) {
    tf.dispose(resume.optimizerWeights.map((w) => w.tensor));
    throw new InputError(`${resume.dir}: not a checkpoint of this fine-tuning plan (${plan.length} stage${plan.length > 1 ? 's' : ''}); `
      + 'resume with the stages it was started with');
  }
  // Epochs done before this call, as the trainer reports them.
  let previous: TrainResult | undefined = resume && {
    history: resume.state.history, best: resume.state.best, epochs: resume.state.epoch, seed: resume.state.seed,
    stoppedEarly: false, trainImagesPerSec: 0, trainSeconds: 0,
  };
  let pendingResume = resume;
  try {
    for (const [index, stage] of plan.entries()) {
      if (mark && index < mark.index) continue;
      const firstEpoch = mark && index === mark.index ? mark.firstEpoch : (previous?.epochs ?? 0) + 1;
      const stageEnd = firstEpoch - 1 + stage.epochs;
      const stopper = earlyStopping(options.patience, previous?.history.filter((h) => h.epoch >= firstEpoch));
      if (pendingResume && (previous!.epochs >= stageEnd || stopper.exhausted())) {
        // The checkpoint is from the end of this stage: the next one starts with a fresh optimizer.
        tf.dispose(pendingResume.optimizerWeights.map((w) => w.tensor));
        pendingResume = undefined;
        continue;
      }
      freezeFeatures(model, stage.trains === 'head');
      const trainableParams = model.trainableWeights.reduce((n, w) => n + w.shape.reduce<number>((a, d) => a * (d ?? 1), 1), 0);
      const trainsBatchNorm = model.layers.some(function trains(layer: tf.layers.Layer): boolean {
        const inner = (layer as { layers?: tf.layers.Layer[] }).layers;
        return inner ? inner.some(trains) : layer.getClassName() === 'BatchNormalization' && layer.trainable;
      });
      const recalibrateStage = trainsBatchNorm && (recalibrate === 'auto' ? totalSteps < SHORT_RUN_STEPS : recalibrate);
      if (recalibrateStage) recalibrated = true;
      logger.info(`stage ${index + 1}: training ${stage.trains === 'head' ? 'the classifier only' : 'every layer'} `
        + `(${trainableParams.toLocaleString('en-US')} parameters) for up to ${stage.epochs} epochs at learning rate ${stage.learningRate}`
        + (recalibrateStage ? `, recalibrating BatchNorm after each epoch${recalibrate === 'auto' ? ` (a short run: ${totalSteps} < ${SHORT_RUN_STEPS} steps)` : ''}` : ''));
      const result = await train(model, data, {
        epochs: stageEnd,
        batchSize, optimizer, seed,
        workers: options.workers,
        logEvery: options.logEvery,
        signal: options.signal,
        config: { ...options.config, fineTuneStage: { index, firstEpoch } satisfies StageMark, totalEpochs: epochs },
        learningRate: stage.learningRate,
        labelSmoothing: options.labelSmoothing,
        augment: options.augment ?? true,
        validationData: options.validationData,
        out: options.out,
        metadata: { ...options.metadata, stage: stage.trains, ...(recalibrateStage && { batchNormRecalibrated: true }) },
        recalibrateBatchNorm: recalibrateStage,
        callbacks: [...callbacks, stopper],
        logger,
        ...(pendingResume ? { resume: pendingResume } : previous && { resume: continueFrom(model, previous, batchSize, optimizer) }),
      });
      pendingResume = undefined;
      const stageEpochs = result.epochs - firstEpoch + 1;
      stages.push({
        trains: stage.trains, firstEpoch, lastEpoch: result.epochs, learningRate: stage.learningRate, trainableParams,
        trainSeconds: result.trainSeconds, trainImagesPerSec: result.trainImagesPerSec,
        secondsPerEpoch: stageEpochs > 0 ? result.trainSeconds / stageEpochs : 0, stoppedEarly: result.stoppedEarly,
      });
      previous = result;
    }
  } finally {
    if (pendingResume) tf.dispose(pendingResume.optimizerWeights.map((w) => w.tensor));
    // A saved or returned model must not carry frozen flags into someone else's training.
    freezeFeatures(model, false);
  }

  const final = previous!;
  const outcome: FineTuneResult = { history: final.history, best: final.best, stages, seed: final.seed };
  if (options.out && final.best) {
    // The run's answer is the best epoch, which the trainer saved; read it back as any user would.
    const best = await loadModel(options.out);
    copyWeightsByName(best, model);
    best.dispose();
  }
  if (options.validationData) {
    const val = await evaluate(model, options.validationData, { confusion: true });
    Object.assign(outcome, { valAccuracy: val.accuracy, valLoss: val.loss, confusion: val.confusion });
    const last = final.history.at(-1);
    const steps = final.history.reduce((n, h) => n + Math.ceil(h.trainImages / batchSize), 0);
    const warning = last && batchNormWarning(last.trainAccuracy, val.accuracy, steps, recalibrated, data.length);
    if (warning) logger.warn(warning);
    if (options.out) {
      await writeConfusionMatrix(options.out, val.confusion!, data.classNames).catch((error: Error) => {
        logger.warn(`could not draw the confusion matrix in ${options.out}: ${error.message}`);
      });
    }
  }
  return outcome;
}
