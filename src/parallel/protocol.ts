/**
 * Messages between the coordinator (rank 0, the caller's thread) and its replicas (worker
 * threads). Gradients never travel in messages: each rank writes its own into its slot of a
 * SharedArrayBuffer, and the coordinator writes the combined gradient into the result area.
 */

/** How the shared gradient memory is laid out: `ranks` slots of `size` floats, then the result. */
export interface SharedGradients {
  buffer: SharedArrayBuffer;
  /** Floats per gradient: the model's trainable weights, flattened in `trainableWeights` order. */
  size: number;
  ranks: number;
  /** One Int32 per rank, set with Atomics to the step whose gradient the slot holds. */
  flags: SharedArrayBuffer;
}

export interface InitMessage {
  type: 'init';
  rank: number;
  backend: string;
  /** `model.toJSON()`: stock layers only. */
  topology: string;
  /** Every weight of the model (`model.weights` order), as float32 values. */
  weights: Float32Array[];
  /** Per layer (`model.layers` order): trainable or not. */
  trainable: boolean[];
  /** Null for an inference-only replica. */
  optimizer: 'adam' | 'sgd' | null;
  /** The optimizer's state, when resuming: values in `optimizer.getWeights()` order. */
  optimizerState: { name: string; values: Float32Array; shape: number[] }[] | null;
  labelSmoothing: number;
  freezeBatchNormStats: boolean;
  /** Null for an inference-only replica. */
  shared: SharedGradients | null;
}

/** Runs the model in inference mode on a batch. */
export interface PredictMessage {
  type: 'predict';
  id: number;
  x: Float32Array;
  shape: number[];
}

export interface StepMessage {
  type: 'step';
  step: number;
  /** This rank's rows of the batch, float32 NHWC, and its labels; `rows` may be 0. */
  x: Float32Array;
  shape: number[];
  y: Int32Array;
}

export interface ApplyMessage {
  type: 'apply';
  learningRate: number;
}

export interface CloseMessage {
  type: 'close';
}

/** Asks for every weight's values (to check that replicas agree). */
export interface WeightsMessage {
  type: 'weights';
}

export type ToReplica = InitMessage | StepMessage | ApplyMessage | CloseMessage | WeightsMessage | PredictMessage;

export interface ReadyReply {
  type: 'ready';
  /** Live tensors before building the model: what is left after `close` when nothing leaked. */
  baseTensors: number;
  /** An inference-only replica's folded convs (`InferencePlan.fusedConvs`); 0 for a training replica. */
  fusedConvs: number;
}

export interface PredictReply {
  type: 'predicted';
  id: number;
  logits: Float32Array;
  shape: number[];
}

export interface WeightsReply {
  type: 'weights';
  values: Float32Array[];
}

export interface StepReply {
  type: 'stepped';
  step: number;
  rows: number;
  loss: number;
  correct: number;
  numTensors: number;
  /** Bytes of live tensors in the worker's engine after the step (leak checks). */
  numBytes: number;
  /**
   * Wall-clock times (ms since the epoch, `performance.timeOrigin + now()`, comparable across
   * threads) of this step's phases in the worker, and how long the previous `apply` took: what
   * `bench/profileParallel.ts` reads to see where a data-parallel step's time goes.
   */
  timing: StepTiming;
}

/** See {@link StepReply.timing}. */
export interface StepTiming {
  /** The step message was taken from the queue. */
  received: number;
  /** Forward and backward ended, loss read. */
  computed: number;
  /** The gradient is in the shared slot. */
  written: number;
  /** Milliseconds the previous apply took (0 before the first). */
  applyMs: number;
}

export interface ClosedReply {
  type: 'closed';
  numTensors: number;
}

export interface ErrorReply {
  type: 'error';
  name: string;
  message: string;
}

export type FromReplica = ReadyReply | StepReply | ClosedReply | ErrorReply | WeightsReply | PredictReply;
