/**
 * Training metrics at a step. `loss` and `accuracy` are means over a window of steps: the epoch
 * so far for `onBatchEnd`, the steps since the previous log for `onLog` and metrics.jsonl.
 */
export interface StepMetrics {
  /** 1-based epoch. */
  epoch: number;
  /** 1-based step within the epoch. */
  step: number;
  stepsPerEpoch: number;
  /** Optimizer steps taken since training began, across resumes. */
  globalStep: number;
  /** Mean training loss over the window, as optimized (with label smoothing, if any). */
  loss: number;
  /** Training-batch accuracy over the window (dropout and BN in training mode). */
  accuracy: number;
  learningRate: number;
  /** Training images per second in this epoch so far. */
  imagesPerSec: number;
  /** Estimated seconds left in this epoch. */
  etaSeconds: number;
}

/** Metrics of one finished epoch. */
export interface EpochMetrics {
  /** 1-based epoch. */
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  /** Validation metrics, when a validation dataset was given. */
  valLoss?: number;
  valAccuracy?: number;
  /** Training wall time of the epoch, excluding evaluation and checkpoints. */
  trainSeconds: number;
  /** Evaluation wall time. */
  evalSeconds: number;
  /** Wall time of the BatchNorm recalibration pass, when `recalibrateBatchNorm` is on. */
  recalibrationSeconds?: number;
  trainImages: number;
  trainImagesPerSec: number;
  learningRate: number;
  /** True when this epoch is the best so far and was saved as DIR/model.json. */
  best: boolean;
}

/** Facts about the run, given to callbacks when it begins. */
export interface TrainBeginInfo {
  /** Total epochs of the run (counting the ones done before a resume). */
  epochs: number;
  /** Epochs already done (non-zero after a resume). */
  initialEpoch: number;
  stepsPerEpoch: number;
  batchSize: number;
  trainExamples: number;
  validationExamples: number;
  seed: number;
  /** The active TF.js backend. */
  backend: string;
  /** Data-parallel ranks (1: this thread only). */
  workers: number;
  /** Estimated memory of one rank's training step (its share of the batch), in bytes. */
  replicaBytes: number;
  out?: string;
}

/**
 * Hooks into training. Each may be async; the trainer awaits it. Returning 'stop' from
 * `onEpochEnd` ends training after that epoch (its checkpoint is still written), which is how
 * early stopping works.
 */
export interface TrainCallbacks {
  onTrainBegin?(info: TrainBeginInfo): void | Promise<void>;
  onEpochBegin?(epoch: number, info: TrainBeginInfo): void | Promise<void>;
  /** Called after every optimizer step, with epoch-so-far means (for progress bars). */
  onBatchEnd?(metrics: StepMetrics): void | Promise<void>;
  /** Called every `logEvery` steps and at the last step of each epoch, with means since the previous log. */
  onLog?(metrics: StepMetrics): void | Promise<void>;
  onEpochEnd?(metrics: EpochMetrics): void | 'stop' | Promise<void | 'stop'>;
  /** Called after the last epoch, or when training fails (then with the error). */
  onTrainEnd?(error?: unknown): void | Promise<void>;
}
