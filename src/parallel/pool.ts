import type { Worker } from 'node:worker_threads';
import type { Batch } from '../data/dataset.js';
import { tf } from '../tf.js';
import { explainAbort } from '../training/memory.js';
import { type OptimizerName, setLearningRate } from '../training/optimizer.js';
import { trainingStep } from '../training/step.js';
import { allocateGradients, combineGradients, gradientSize, readGradients, writeGradients } from './gradients.js';
import type { SharedGradients, StepTiming } from './protocol.js';
import { closeReplicas, modelPayload, type ReplicaThread, spawnReplicas, terminateReplicas, WorkerError } from './thread.js';

export { WorkerError } from './thread.js';

/** Options of {@link ReplicaPool.start}. */
export interface PoolOptions {
  /** Ranks in all, the caller's thread (rank 0) included; at least 2. */
  ranks: number;
  optimizer: OptimizerName;
  labelSmoothing: number;
  freezeBatchNormStats: boolean;
}

/** What a step of the whole pool measured, before anything is applied. */
export interface PoolStep {
  /** Mean loss over the batch. */
  loss: number;
  /** Correct rows over the batch. */
  correct: number;
  /** Live tensors and their bytes in each worker after its step (leak checks). */
  workerTensors: number[];
  workerBytes: number[];
  /** Each worker's phase times (see `StepReply.timing`), for profiling. */
  workerTimings: StepTiming[];
  /** Rank 0's phase times, ms since the epoch: shards posted, own forward/backward done, own gradient written, replies in, combined. */
  timing: { started: number; posted: number; computed: number; written: number; replied: number; combined: number };
}

const now = () => performance.timeOrigin + performance.now();

const rowsOf = (n: number, ranks: number) =>
  Array.from({ length: ranks }, (_, r) => Math.floor(((r + 1) * n) / ranks) - Math.floor((r * n) / ranks));

/**
 * Data-parallel replicas of a model in worker threads, with the caller's thread as rank 0 (its
 * model is the one that is evaluated and saved). Each step splits the batch into contiguous
 * shards, every rank computes the gradient of its shard's mean loss, rank 0 combines them
 * weighted by rows in rank order through shared memory, and every rank applies the same
 * combined gradient with its own optimizer: PyTorch DDP's scheme, so replicas stay
 * bit-identical and the step equals one over the whole batch (BatchNorm aside, whose batch
 * statistics are per shard, as in DDP without SyncBatchNorm).
 */
export class ReplicaPool {
  private step = 0;
  private closed = false;

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly optimizer: tf.Optimizer,
    private readonly replicas: ReplicaThread[],
    private readonly shared: SharedGradients,
    private readonly options: PoolOptions,
    /** Live tensors in each worker before its model was built. */
    readonly baseTensors: number[],
  ) {}

  /**
   * Starts `options.ranks - 1` workers, each with a copy of `model` (topology, weights,
   * trainable flags) and of `optimizer`'s state, on the current backend.
   */
  static async start(model: tf.LayersModel, optimizer: tf.Optimizer, options: PoolOptions): Promise<ReplicaPool> {
    const shared = allocateGradients(gradientSize(model.trainableWeights), options.ranks);
    const payload = modelPayload(model);
    const state = await optimizer.getWeights();
    const optimizerState = state.length === 0 ? null : state.map(({ name, tensor }) => ({
      name, values: tensor.dataSync() as Float32Array, shape: tensor.shape,
    }));
    // getWeights adds a fresh iterations scalar, which is ours.
    tf.dispose(state.filter((s) => s.name === 'iter').map((s) => s.tensor));
    const replicas: ReplicaThread[] = [];
    try {
      spawnReplicas(replicas, options.ranks, {
        ...payload, optimizer: options.optimizer, optimizerState,
        labelSmoothing: options.labelSmoothing, freezeBatchNormStats: options.freezeBatchNormStats, shared,
      });
      const ready = await Promise.all(replicas.map((r) => r.next()));
      return new ReplicaPool(model, optimizer, replicas, shared, options, ready.map((m) => (m.type === 'ready' ? m.baseTensors : -1)));
    } catch (error) {
      await terminateReplicas(replicas);
      throw error;
    }
  }

  /**
   * Runs forward and backward on every rank and combines the gradients; nothing is applied
   * until {@link apply}, so a non-finite loss can stop every replica first.
   */
  async forwardBackward(batch: Batch, where: string): Promise<PoolStep> {
    const step = ++this.step;
    const started = now();
    const n = batch.y.shape[0];
    const rows = rowsOf(n, this.options.ranks);
    const [xs, ys] = await Promise.all([batch.x.data() as Promise<Float32Array>, batch.y.data() as Promise<Int32Array>]);
    const perRow = batch.x.size / n;
    let start = rows[0]!;
    this.replicas.forEach((replica, i) => {
      const count = rows[i + 1]!;
      replica.post({
        type: 'step', step, shape: [count, ...batch.x.shape.slice(1)],
        x: xs.slice(start * perRow, (start + count) * perRow), y: ys.slice(start, start + count),
      });
      start += count;
    });

    const posted = now();
    let computed = 0;
    let loss0 = 0;
    let correct0 = 0;
    const x0 = tf.slice(batch.x, 0, rows[0]!);
    const y0 = tf.slice(batch.y, 0, rows[0]!);
    try {
      let result;
      try {
        result = trainingStep(this.model, x0, y0, { labelSmoothing: this.options.labelSmoothing, freezeBatchNormStats: this.options.freezeBatchNormStats });
      } catch (error) {
        throw explainAbort(error, this.model, n, this.options.ranks);
      }
      try {
        const [l, c] = await Promise.all([result.loss.data(), result.correct.data()]);
        [loss0, correct0] = [l[0]!, c[0]!];
        computed = now();
        writeGradients(this.shared, 0, this.model.trainableWeights.map((w) => result.grads[(w.read() as tf.Variable).name]!), step);
      } finally {
        result.dispose();
      }
    } finally {
      tf.dispose([x0, y0]);
    }

    const written = now();
    const replies = await Promise.all(this.replicas.map((r) => r.next())).catch((error: Error) => {
      throw error instanceof WorkerError ? new WorkerError(`${error.message} at ${where}`) : error;
    });
    let loss = loss0 * rows[0]!;
    let correct = correct0;
    const workerTensors: number[] = [];
    const workerBytes: number[] = [];
    const workerTimings: StepTiming[] = [];
    const replied = now();
    for (const reply of replies) {
      if (reply.type !== 'stepped' || reply.step !== step) throw new WorkerError(`a worker answered ${reply.type} to step ${step} at ${where}`);
      loss += reply.loss * reply.rows;
      correct += reply.correct;
      workerTensors.push(reply.numTensors);
      workerBytes.push(reply.numBytes);
      workerTimings.push(reply.timing);
    }
    combineGradients(this.shared, rows, step);
    const timing = { started, posted, computed, written, replied, combined: now() };
    return { loss: loss / n, correct, workerTensors, workerBytes, workerTimings, timing };
  }

  /** Applies the combined gradient of the last {@link forwardBackward} on every rank. */
  apply(learningRate: number): void {
    for (const replica of this.replicas) replica.post({ type: 'apply', learningRate });
    const grads = readGradients(this.shared, this.model.trainableWeights);
    setLearningRate(this.optimizer, learningRate);
    this.optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }

  /** Every weight of rank `rank`'s model (`model.weights` order), to check that replicas agree. */
  async weightsOf(rank: number): Promise<Float32Array[]> {
    const replica = this.replicas[rank - 1]!;
    replica.post({ type: 'weights' });
    const reply = await replica.next();
    if (reply.type !== 'weights') throw new WorkerError(`worker ${rank} answered ${reply.type} to a weights request`);
    return reply.values;
  }

  /** Live tensors in each worker after disposing its model: its `baseTensors` when nothing leaked. */
  async close(): Promise<number[]> {
    if (this.closed) return [];
    this.closed = true;
    return closeReplicas(this.replicas);
  }

  /** Stops every worker at once (after a failure or an interrupt). */
  async terminate(): Promise<void> {
    this.closed = true;
    await terminateReplicas(this.replicas);
  }

  /** The worker threads (for tests that make one fail). */
  get workers(): readonly Worker[] {
    return this.replicas.map((r) => r.worker);
  }
}
