import { tf } from '../tf.js';
import { modelPayload, Replica, spawnWorker, WorkerError } from './thread.js';
import type { WorkersOption } from './workers.js';

/**
 * Batches each rank must have before worker threads are worth starting: a worker needs about a
 * second to load TF.js and the model, so a few batches run faster on this thread alone.
 */
const MIN_BATCHES_PER_RANK = 4;

/** How many ranks to use for `batches` batches with `workers` allowed; 1 means this thread only. */
export function ranksFor(batches: number, workers: number): number {
  return Math.max(1, Math.min(workers, Math.floor(batches / MIN_BATCHES_PER_RANK)));
}

/**
 * Seconds a worker thread takes to start: load TF.js, its wasm module, this library's kernels
 * and a copy of the model (measured 1-2 s; more from TypeScript sources, which tsx compiles).
 */
const WORKER_START_SECONDS = 2;

/**
 * After the first batch ran on this thread in `secondsPerBatch`: a pool of `ranks`, or null.
 * With `workers: 'auto'` only when the batches left would take this thread more than twice a
 * worker's start-up, so cheap models (MNIST at 3,000 img/s) stay on one thread for a
 * 10k-image pass; an explicit worker count is taken as asked.
 */
export async function poolWorthStarting(
  model: tf.LayersModel, ranks: number, workers: WorkersOption | undefined, secondsPerBatch: number, batchesLeft: number,
): Promise<InferencePool | null> {
  if (ranks < 2 || batchesLeft === 0) return null;
  if (workers === 'auto' && secondsPerBatch * batchesLeft < 2 * WORKER_START_SECONDS) return null;
  return InferencePool.start(model, ranks);
}

/**
 * Inference replicas of a model in worker threads, with this thread as rank 0. Batches are
 * spread round-robin; each replica holds the model's current weights (BatchNorm moving
 * statistics included), so outputs equal this thread's.
 */
export class InferencePool {
  private nextId = 0;

  private constructor(
    private readonly replicas: Replica[],
    /** Live tensors in each worker before its model was built. */
    readonly baseTensors: number[],
    /** Each worker's convs fused with their BatchNorm or activation (its `InferencePlan.fusedConvs`). */
    readonly fusedConvs: number[],
  ) {}

  /** Starts `ranks - 1` workers with copies of `model`. */
  static async start(model: tf.LayersModel, ranks: number): Promise<InferencePool> {
    const payload = modelPayload(model);
    const replicas: Replica[] = [];
    try {
      for (let rank = 1; rank < ranks; rank++) {
        const replica = new Replica(spawnWorker(), rank, ranks);
        replicas.push(replica);
        replica.post({
          type: 'init', rank, ...payload, optimizer: null, optimizerState: null, labelSmoothing: 0, freezeBatchNormStats: true, shared: null,
        });
      }
      const ready = await Promise.all(replicas.map((r) => r.next()));
      const field = (key: 'baseTensors' | 'fusedConvs') => ready.map((m) => (m.type === 'ready' ? m[key] : -1));
      return new InferencePool(replicas, field('baseTensors'), field('fusedConvs'));
    } catch (error) {
      await Promise.all(replicas.map((r) => r.worker.terminate()));
      throw error;
    }
  }

  get ranks(): number {
    return this.replicas.length + 1;
  }

  /**
   * Outputs of each batch (inference mode), one batch per rank at a time: `batches[0]` runs on
   * this thread through `local` (the caller's inference plan) while the others run in the
   * workers, each through its own plan built from the weights it received. The caller owns the
   * inputs and the outputs.
   */
  async predict(batches: readonly tf.Tensor[], local: (x: tf.Tensor) => tf.Tensor): Promise<tf.Tensor[]> {
    if (batches.length > this.ranks) throw new Error(`predict takes at most ${this.ranks} batches at once; received ${batches.length}`);
    const ids: number[] = [];
    for (let i = 1; i < batches.length; i++) {
      const x = batches[i]!;
      const id = this.nextId++;
      ids.push(id);
      this.replicas[i - 1]!.post({ type: 'predict', id, x: (await x.data()) as Float32Array, shape: x.shape });
    }
    const first = batches.length > 0 ? local(batches[0]!) : null;
    try {
      const replies = await Promise.all(ids.map((_, i) => this.replicas[i]!.next()));
      const remote = replies.map((reply, i) => {
        if (reply.type !== 'predicted' || reply.id !== ids[i]) throw new WorkerError(`worker ${i + 1} answered ${reply.type} to a prediction`);
        return tf.tensor(reply.logits, reply.shape);
      });
      return first ? [first, ...remote] : remote;
    } catch (error) {
      first?.dispose();
      throw error;
    }
  }

  /** Disposes the replicas and stops their threads; returns each worker's live tensors after disposal: its `baseTensors` when nothing leaked. */
  async close(): Promise<number[]> {
    try {
      const alive = this.replicas.filter((r) => !r.failure);
      for (const replica of alive) replica.post({ type: 'close' });
      const replies = await Promise.all(alive.map((r) => r.next()));
      return replies.map((m) => (m.type === 'closed' ? m.numTensors : -1));
    } finally {
      await Promise.all(this.replicas.map((r) => r.worker.terminate()));
    }
  }
}
