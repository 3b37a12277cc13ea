import type { Batch, Dataset } from '../data/dataset.js';
import { InputError, received } from '../errors.js';
import { checkInt, checkOptions, checkRate, keysOf } from '../options/check.js';
import { type Logger, silentLogger } from '../logger.js';
import { lockRunDirectory, type RunLock } from '../io/runLock.js';
import { resolveWorkers, type WorkersOption } from '../parallel/workers.js';
import { tf } from '../tf.js';
import type { Checkpoint } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { checkStepFits, estimateStepBytes } from './memory.js';
import { createOptimizer, type OptimizerName } from './optimizer.js';
import { deriveSeed, permutation, seededRandom } from './random.js';
import { recalibrateBatchNorm } from './recalibrateBatchNorm.js';
import { type RunState, runOutputs } from './runOutputs.js';
import { constantLr, type LrSchedule } from './schedules.js';
import { createStepper, NonFiniteLossError, type Stepper } from './stepper.js';
import type { EpochMetrics, StepMetrics, TrainBeginInfo, TrainCallbacks } from './types.js';

export type { OptimizerName } from './optimizer.js';
export { NonFiniteLossError } from './stepper.js';

/** Options of {@link train}. Every field is optional; the defaults are the seed's recipe. */
export interface TrainOptions {
  /** Total epochs, counting those done before a resume. Default 3. */
  epochs?: number;
  /** Default 64 (or the checkpoint's when resuming). */
  batchSize?: number;
  /** 'adam' (β 0.9/0.999, ε 1e-8 as in PyTorch) or 'sgd' (momentum 0.9). Default 'adam'. */
  optimizer?: OptimizerName;
  /** A fixed rate or a schedule over optimizer steps. Default 1e-3. */
  learningRate?: number | LrSchedule;
  /** Label smoothing of the training loss, in [0, 1). Default 0. */
  labelSmoothing?: number;
  /** Ask the dataset for augmented training batches. Default false. */
  augment?: boolean;
  /** Reshuffle the training examples every epoch. Default true. */
  shuffle?: boolean;
  /**
   * Seeds shuffling and augmentation (each epoch derives its own stream, so a resumed run
   * repeats an uninterrupted one). Weight initialization is seeded where the model is built.
   * Default: a random seed, reported in `TrainResult.seed` and saved in checkpoints.
   */
  seed?: number;
  /** Evaluated after every epoch; the best epoch by its accuracy is saved as `out/model.json`. */
  validationData?: Dataset;
  /** Batch size of evaluation. Default 256. */
  evalBatchSize?: number;
  /** Steps between `onLog` calls and metrics.jsonl lines. Default 50. */
  logEvery?: number;
  /**
   * Output directory. When set: `out/model.json` (best epoch, atomically replaced),
   * `out/last/` (latest epoch with optimizer and trainer state, for resuming),
   * `out/metrics.jsonl`, and `out/{loss,accuracy}.{svg,png}`. Default: nothing is written.
   */
  out?: string;
  /** Extra `userDefinedMetadata` for saved models, besides classNames, mean, std, inputShape, epoch and metrics. */
  metadata?: Record<string, unknown>;
  /** Stored in the checkpoint's trainer state and returned on resume (the CLI keeps its flags there). */
  config?: Record<string, unknown>;
  /** Continue from a checkpoint read by `loadCheckpoint`; pass `checkpoint.model` as the model. */
  resume?: Checkpoint;
  /** Progress bars, logging, early stopping, ... */
  callbacks?: TrainCallbacks | TrainCallbacks[];
  /** Draw plots in `out`. Default true. */
  plots?: boolean;
  /** What the validation data is called in plots. Default 'validation'. */
  validationLabel?: string;
  /**
   * Run BatchNormalization layers whose `trainable` is false in inference mode, so their moving
   * statistics stay frozen too (Keras 2's behaviour; TF.js alone would keep updating them).
   * Default true.
   */
  freezeBatchNormStats?: boolean;
  /**
   * After each epoch's steps, before validation and checkpoints, re-estimate the moving
   * statistics of the BatchNormalization layers that train from one pass over the training data
   * (see `recalibrateBatchNorm`), in batches of the size each replica trains with. For short
   * runs, whose exponential averages lag the weights (`fineTune` turns it on for them). Costs
   * one forward pass over the training data per epoch. Default false.
   */
  recalibrateBatchNorm?: boolean;
  /** Warnings (e.g. plots that could not be drawn). Default silent. */
  logger?: Logger;
  /**
   * Data-parallel ranks: this thread plus `workers - 1` worker threads, each with its own TF.js
   * engine and wasm heap and a replica of the model. Every step splits the batch across them,
   * averages their gradients and applies the same update everywhere (PyTorch DDP's scheme), so the
   * batch size and learning rate mean what they mean on one thread. BatchNorm uses per-replica
   * batch statistics. 'auto' uses every core. Default 1 (this thread only).
   */
  workers?: WorkersOption;
  /**
   * Stops training when aborted: checked before every step and every evaluation batch, so
   * training ends within a step, rejecting with `signal.reason` (as `fetch` does). Checkpoints
   * already written stay; a save in progress finishes first. The CLI aborts on Ctrl-C.
   * Default: none.
   */
  signal?: AbortSignal;
}

export interface TrainResult {
  /** Every epoch of the run, including those before a resume. */
  history: EpochMetrics[];
  /** The epoch saved as `out/model.json`. */
  best: EpochMetrics | null;
  /** Epochs completed. */
  epochs: number;
  /** True when a callback stopped training early. */
  stoppedEarly: boolean;
  /** Training images ÷ training wall time (evaluation and checkpoints excluded), over this call's epochs. */
  trainImagesPerSec: number;
  trainSeconds: number;
  seed: number;
}

const TRAIN_OPTIONS = keysOf<TrainOptions>()({
  epochs: true, batchSize: true, optimizer: true, learningRate: true, labelSmoothing: true, augment: true, shuffle: true, seed: true,
  validationData: true, evalBatchSize: true, logEvery: true, out: true, metadata: true, config: true, resume: true, callbacks: true,
  plots: true, validationLabel: true, freezeBatchNormStats: true, logger: true, workers: true, recalibrateBatchNorm: true, signal: true,
});

async function runCallbacks<K extends keyof TrainCallbacks>(
  list: TrainCallbacks[], name: K, ...args: Parameters<NonNullable<TrainCallbacks[K]>>
): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const callbacks of list) {
    const fn = callbacks[name] as ((...a: unknown[]) => unknown) | undefined;
    if (fn) results.push(await fn.apply(callbacks, args));
  }
  return results;
}

const disposeBatch = (b: Batch) => tf.dispose([b.x, b.y]);

/**
 * Lets timers and signal handlers run, then throws if `signal` was aborted. A step can resolve
 * through microtasks alone (the wasm backend's reads are synchronous underneath), so without
 * the turn of the event loop a Ctrl-C handler or an abort timer would wait for the epoch's end.
 */
async function checkSignal(signal: AbortSignal): Promise<void> {
  // setImmediate is Node's; a page (the browser build runs this too) has only timers.
  await new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
  signal.throwIfAborted();
}

/**
 * Trains a classifier that outputs logits on any {@link Dataset}, with sparse softmax
 * cross-entropy. Each step runs the model with `training: true` (dropout on, BatchNorm on batch
 * statistics and updating its moving averages), differentiates the loss with respect to the
 * model's trainable weights only (frozen layers get no gradients and cost no backward work for
 * their weights), and applies the optimizer. The next batch is requested before the current
 * one trains. After each epoch the validation data is evaluated and, with `out`, checkpoints,
 * metrics and plots are written.
 *
 * A NaN or infinite loss stops training with {@link NonFiniteLossError} before the step is
 * applied, so neither the weights nor any checkpoint see it.
 *
 * Adam's state is matched to variables by position, so the set of trainable layers must not
 * change within a call; to unfreeze in stages, call `train` again (a new optimizer).
 *
 * @example
 * await tf.ready();
 * const model = mobileNetV2Mnist({ seed: 1 });
 * const result = await train(model, await loadMnist(), {
 *   validationData: await loadMnist({ split: 'test' }),
 *   out: 'runs/mnist', seed: 1, callbacks: progressReporter(),
 * });
 */
export async function train(model: tf.LayersModel, data: Dataset, options: TrainOptions = {}): Promise<TrainResult> {
  checkOptions(options, TRAIN_OPTIONS, 'train');
  const resume = options.resume;
  const state = resume?.state;
  const epochs = checkInt('epochs', options.epochs ?? state?.epochs ?? 3, { min: 1 });
  const batchSize = checkInt('batchSize', options.batchSize ?? state?.batchSize ?? 64, { min: 1 });
  const evalBatchSize = checkInt('evalBatchSize', options.evalBatchSize ?? 256, { min: 1 });
  const logEvery = checkInt('logEvery', options.logEvery ?? 50, { min: 1 });
  const seed = checkInt('seed', options.seed ?? state?.seed ?? Math.floor(Math.random() * 2 ** 31), { min: 0 });
  const labelSmoothing = checkRate('labelSmoothing', options.labelSmoothing ?? 0);
  const lr = options.learningRate ?? 1e-3;
  const schedule: LrSchedule = typeof lr === 'function' ? lr : constantLr(lr);
  const optimizerName = (state?.optimizer.name as OptimizerName | undefined) ?? options.optimizer ?? 'adam';
  if (state && options.optimizer !== undefined && options.optimizer !== optimizerName) {
    throw new InputError(`optimizer=${received(options.optimizer)} differs from the resumed checkpoint's ${received(optimizerName)}; a resumed run keeps its optimizer (and its state)`);
  }
  if (data.length === 0) throw new InputError('training dataset is empty');
  const numClasses = (model.outputs[0].shape as number[])[1];
  if (numClasses !== data.classNames.length) {
    throw new InputError(`model outputs ${numClasses} classes but the dataset has ${data.classNames.length} (${received(data.classNames)})`);
  }
  if (model.trainableWeights.length === 0) throw new InputError('model has no trainable weights; unfreeze at least one layer');
  const workers = resolveWorkers(options.workers);
  if (workers > batchSize) throw new InputError(`workers must be at most batchSize (${batchSize}) so that every worker gets rows; received \`workers=${workers}\``);
  checkStepFits(model, batchSize, workers);
  const callbacks = options.callbacks === undefined ? [] : Array.isArray(options.callbacks) ? options.callbacks : [options.callbacks];
  const out = options.out;
  const signal = options.signal;
  signal?.throwIfAborted();

  const stepsPerEpoch = Math.ceil(data.length / batchSize);
  const initialEpoch = state?.epoch ?? 0;
  const run: RunState = {
    epochs, seed, batchSize, optimizerName,
    globalStep: state?.globalStep ?? 0, history: [...(state?.history ?? [])], best: state?.best ?? null,
  };
  const optimizer = createOptimizer(optimizerName);
  if (resume) {
    await optimizer.setWeights(resume.optimizerWeights);
    tf.dispose(resume.optimizerWeights.map((w) => w.tensor));
  }
  const info: TrainBeginInfo = {
    epochs, initialEpoch, stepsPerEpoch, batchSize, trainExamples: data.length,
    validationExamples: options.validationData?.length ?? 0, seed, backend: tf.getBackend(), ...(out && { out }),
    workers, replicaBytes: estimateStepBytes(model, Math.ceil(batchSize / workers)),
  };
  // Whether `out` holds a checkpoint yet: one from an earlier run, or an epoch of this one.
  let saved = initialEpoch > 0;
  const stopped = (where: string) => `${where}; training stopped${
    !out ? '' : saved ? `, the checkpoints in ${out} are from the last good epoch` : ` before the first epoch ended, so nothing was saved in ${out}`}`;

  let stepper: Stepper | null = null;
  let lock: RunLock | null = null;
  let failure: unknown;
  let result: Omit<TrainResult, 'history' | 'best' | 'epochs' | 'seed'> = { stoppedEarly: false, trainImagesPerSec: 0, trainSeconds: 0 };
  try {
    // Two processes saving into one directory would overwrite each other's checkpoints.
    if (out) lock = await lockRunDirectory(out);
    const list = [
      ...(out ? [await runOutputs(out, {
        model, optimizer, data, state: run, initialEpoch, metadata: options.metadata, config: options.config,
        plots: options.plots ?? true, validationLabel: options.validationLabel, logger: options.logger ?? silentLogger, signal,
      })] : []),
      ...(out ? [{ onEpochEnd: () => { saved = true; } }] : []),
      ...callbacks,
    ];
    stepper = await createStepper(model, optimizer, {
      workers, batchSize, optimizerName, labelSmoothing, freezeBatchNormStats: options.freezeBatchNormStats ?? true,
      nonFinite: (loss, lr, where) => new NonFiniteLossError(stopped(`training loss became ${loss} at ${where} (learning rate ${lr.toPrecision(3)})`)),
    });
    result = await runEpochs({
      model, data, stepper, run, info, schedule, callbacks: list, logEvery, evalBatchSize,
      shuffle: options.shuffle ?? true, augment: options.augment ?? false, validation: options.validationData, stopped, signal,
      recalibrate: options.recalibrateBatchNorm ?? false, freezeBatchNormStats: options.freezeBatchNormStats ?? true,
    });
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await stepper?.close(failure !== undefined);
    optimizer.dispose();
    await lock?.release();
    await runCallbacks(callbacks, 'onTrainEnd', ...(failure === undefined ? [] : [failure]) as [unknown?]);
  }
  return { history: run.history, best: run.best, epochs: run.history.length, seed, ...result };
}

/** What {@link runEpochs} runs. */
interface Loop {
  model: tf.LayersModel;
  data: Dataset;
  stepper: Stepper;
  run: RunState;
  info: TrainBeginInfo;
  schedule: LrSchedule;
  callbacks: TrainCallbacks[];
  logEvery: number;
  evalBatchSize: number;
  shuffle: boolean;
  augment: boolean;
  validation?: Dataset;
  stopped(where: string): string;
  recalibrate: boolean;
  freezeBatchNormStats: boolean;
  signal?: AbortSignal;
}

/**
 * The training loop, Keras `fit`'s shape: epochs of steps, each epoch shuffled and augmented
 * from its own seed stream, the next batch loading while the current one trains; the
 * validation pass closes each epoch; everything else (progress, logs, checkpoints, plots,
 * early stopping) is a callback.
 */
async function runEpochs(loop: Loop): Promise<Omit<TrainResult, 'history' | 'best' | 'epochs' | 'seed'>> {
  const { data, stepper, run, info, callbacks } = loop;
  const { batchSize, stepsPerEpoch } = info;
  const totalSteps = stepsPerEpoch * run.epochs;
  let trainImages = 0;
  let trainSeconds = 0;
  let stoppedEarly = false;
  await runCallbacks(callbacks, 'onTrainBegin', info);
  for (let epoch = info.initialEpoch + 1; epoch <= run.epochs && !stoppedEarly; epoch++) {
    loop.signal?.throwIfAborted();
    await runCallbacks(callbacks, 'onEpochBegin', epoch, info);
    const order = loop.shuffle
      ? permutation(data.length, seededRandom(deriveSeed(run.seed, epoch, 1 /* shuffle */)))
      : Int32Array.from({ length: data.length }, (_, i) => i);
    const batchOptions = { augment: loop.augment, random: seededRandom(deriveSeed(run.seed, epoch, 2 /* augment */)) };
    const load = (s: number) => data.batch(order.subarray(s * batchSize, Math.min((s + 1) * batchSize, data.length)), batchOptions);

    const started = performance.now();
    let sums = { loss: 0, correct: 0, seen: 0 };
    let window = { loss: 0, correct: 0, seen: 0 };
    let learningRate = loop.schedule(run.globalStep, totalSteps);
    let pending: Promise<Batch> | null = load(0);
    try {
      for (let s = 0; s < stepsPerEpoch; s++) {
        if (loop.signal) await checkSignal(loop.signal);
        const batch = await pending!;
        pending = s + 1 < stepsPerEpoch ? load(s + 1) : null;
        const n = batch.y.shape[0];
        learningRate = loop.schedule(run.globalStep, totalSteps);
        let loss: number;
        let right: number;
        try {
          [loss, right] = await stepper.step(batch, learningRate, `epoch ${epoch}, step ${s + 1}`);
        } finally {
          disposeBatch(batch);
        }
        run.globalStep++;
        sums = { loss: sums.loss + loss * n, correct: sums.correct + right, seen: sums.seen + n };
        window = { loss: window.loss + loss * n, correct: window.correct + right, seen: window.seen + n };
        const elapsed = (performance.now() - started) / 1000;
        const metrics: StepMetrics = {
          epoch, step: s + 1, stepsPerEpoch, globalStep: run.globalStep, learningRate,
          loss: sums.loss / sums.seen, accuracy: sums.correct / sums.seen,
          imagesPerSec: sums.seen / elapsed, etaSeconds: ((data.length - sums.seen) * elapsed) / sums.seen,
        };
        await runCallbacks(callbacks, 'onBatchEnd', metrics);
        if ((s + 1) % loop.logEvery === 0 || s + 1 === stepsPerEpoch) {
          await runCallbacks(callbacks, 'onLog', { ...metrics, loss: window.loss / window.seen, accuracy: window.correct / window.seen });
          window = { loss: 0, correct: 0, seen: 0 };
        }
      }
    } finally {
      if (pending) await pending.then(disposeBatch, () => {});
    }
    const epochSeconds = (performance.now() - started) / 1000;
    trainImages += sums.seen;
    trainSeconds += epochSeconds;

    let recalibrationSeconds: number | undefined;
    if (loop.recalibrate) {
      const recalibrationStarted = performance.now();
      await recalibrateBatchNorm(loop.model, data, {
        batchSize: Math.ceil(batchSize / info.workers), seed: deriveSeed(run.seed, epoch, 3 /* recalibration */),
        freezeBatchNormStats: loop.freezeBatchNormStats,
      });
      recalibrationSeconds = (performance.now() - recalibrationStarted) / 1000;
    }

    const evalStarted = performance.now();
    // A multi-worker run may evaluate on every core too, when the validation set is worth it.
    const evalWorkers = info.workers > 1 ? 'auto' : 1;
    const val = loop.validation ? await evaluate(loop.model, loop.validation, { batchSize: loop.evalBatchSize, workers: evalWorkers, signal: loop.signal }) : undefined;
    if (val && !Number.isFinite(val.loss)) throw new NonFiniteLossError(loop.stopped(`validation loss became ${val.loss} after epoch ${epoch}`));
    const score = val ? val.accuracy : sums.correct / sums.seen;
    const bestScore = run.best ? (run.best.valAccuracy ?? run.best.trainAccuracy) : -Infinity;
    const metrics: EpochMetrics = {
      epoch,
      trainLoss: sums.loss / sums.seen,
      trainAccuracy: sums.correct / sums.seen,
      ...(val && { valLoss: val.loss, valAccuracy: val.accuracy }),
      trainSeconds: epochSeconds,
      evalSeconds: (performance.now() - evalStarted) / 1000,
      ...(recalibrationSeconds !== undefined && { recalibrationSeconds }),
      trainImages: sums.seen,
      trainImagesPerSec: sums.seen / epochSeconds,
      learningRate,
      best: score > bestScore,
    };
    run.history.push(metrics);
    if (metrics.best) run.best = metrics;
    const answers = await runCallbacks(callbacks, 'onEpochEnd', metrics);
    if (answers.includes('stop')) stoppedEarly = true;
  }
  return { stoppedEarly, trainImagesPerSec: trainSeconds > 0 ? trainImages / trainSeconds : 0, trainSeconds };
}

