import { tf } from '../tf.js';
import { closeReplicas, modelPayload, type ReplicaThread, spawnReplicas, terminateReplicas, WorkerError } from './thread.js';
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
 * and a copy of the model: 0.6 s measured on the development machine, from TypeScript sources.
 */
const WORKER_START_SECONDS = 1;

/**
 * After the first batch ran on this thread in `secondsPerBatch`, whether to start workers for
 * the `batchesLeft` others. They start in the background while this thread goes on, so what
 * they cost is their start-up on the other cores and their memory: with `workers: 'auto'` only
 * when the batches left would keep this thread busy for longer than a worker takes to start,
 * so that it can take a share; an explicit worker count is taken as asked.
 */
export function workersPayOff(workers: WorkersOption | undefined, secondsPerBatch: number, batchesLeft: number): boolean {
  if (batchesLeft === 0) return false;
  return workers !== 'auto' || secondsPerBatch * batchesLeft > WORKER_START_SECONDS;
}

/**
 * Inference replicas of a model in worker threads, with this thread as rank 0. The caller picks
 * the worker for each batch (runLanes in lanes.ts gives the next batch to the first free rank);
 * each replica holds the model's current weights (BatchNorm moving
 * statistics included), so outputs equal this thread's.
 */
export class InferencePool {
  private nextId = 0;
  /** Per worker, the reply it owes last: replies come in order, so each waits for the one before. */
  private readonly owed: Promise<unknown>[];

  private constructor(
    private readonly replicas: ReplicaThread[],
    /** Live tensors in each worker before its model was built. */
    readonly baseTensors: number[],
    /** Each worker's convs fused with their BatchNorm or activation (its `InferencePlan.fusedConvs`). */
    readonly fusedConvs: number[],
  ) {
    this.owed = replicas.map(() => Promise.resolve());
  }

  /** Starts `ranks - 1` workers with copies of `model`. */
  static async start(model: tf.LayersModel, ranks: number): Promise<InferencePool> {
    return InferencePool.launch(model, ranks).ready;
  }

  /**
   * Starts `ranks - 1` workers with copies of `model` (its weights now) without waiting for
   * them: `ready` resolves when every one has built its model. `stop` closes the pool once it is
   * ready, or terminates the workers at once while they are still starting.
   */
  static launch(model: tf.LayersModel, ranks: number): { ready: Promise<InferencePool>; stop(): Promise<void> } {
    const payload = modelPayload(model);
    const replicas: ReplicaThread[] = [];
    let pool: InferencePool | null = null;
    let stopped = false;
    const ready = (async () => {
      try {
        spawnReplicas(replicas, ranks, { ...payload, optimizer: null, optimizerState: null, labelSmoothing: 0, freezeBatchNormStats: true, shared: null });
        const ready = await Promise.all(replicas.map((r) => r.next()));
        if (stopped) throw new WorkerError('the inference pool was stopped while it started');
        const field = (key: 'baseTensors' | 'fusedConvs') => ready.map((m) => (m.type === 'ready' ? m[key] : -1));
        pool = new InferencePool(replicas, field('baseTensors'), field('fusedConvs'));
        return pool;
      } catch (error) {
        await terminateReplicas(replicas);
        throw error;
      }
    })();
    ready.catch(() => {}); // a caller that stops early never awaits it
    return {
      ready,
      stop: async () => {
        stopped = true;
        if (pool !== null) await pool.close();
        else await terminateReplicas(replicas);
      },
    };
  }

  get ranks(): number {
    return this.replicas.length + 1;
  }

  /**
   * Logits of `x` (inference mode) from worker `worker` (0-based), which may already hold
   * other batches: they run in the order posted. The caller keeps `x` and owns the result.
   */
  async runOn(worker: number, x: tf.Tensor): Promise<tf.Tensor> {
    const replica = this.replicas[worker]!;
    const id = this.nextId++;
    replica.post({ type: 'predict', id, x: x.dataSync() as Float32Array, shape: x.shape });
    const reply = this.owed[worker]!.then(() => replica.next());
    this.owed[worker] = reply.catch(() => {});
    const message = await reply;
    if (message.type !== 'predicted' || message.id !== id) throw new WorkerError(`worker ${worker + 1} answered ${message.type} to a prediction`);
    return tf.tensor(message.logits, message.shape);
  }

  /** Disposes the replicas and stops their threads; returns each worker's live tensors after disposal: its `baseTensors` when nothing leaked. */
  async close(): Promise<number[]> {
    return closeReplicas(this.replicas);
  }
}
