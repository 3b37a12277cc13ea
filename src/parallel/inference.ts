import { InputError, received } from '../errors.js';
import { tf } from '../tf.js';
import { modelPayload, Replica, spawnWorker, WorkerError } from './thread.js';
import { resolveWorkers, type WorkersOption } from './workers.js';

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
  /** Per worker, the reply it owes last: replies come in order, so each waits for the one before. */
  private readonly owed: Promise<unknown>[];

  private constructor(private readonly model: tf.LayersModel, private readonly replicas: Replica[]) {
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
    const replicas: Replica[] = [];
    let pool: InferencePool | null = null;
    let stopped = false;
    const terminate = () => Promise.all(replicas.map((r) => r.worker.terminate())).then(() => undefined);
    const ready = (async () => {
      try {
        for (let rank = 1; rank < ranks; rank++) {
          const replica = new Replica(spawnWorker(), rank, ranks);
          replicas.push(replica);
          replica.post({
            type: 'init', rank, ...payload, optimizer: null, optimizerState: null, labelSmoothing: 0, freezeBatchNormStats: true, shared: null,
          });
        }
        await Promise.all(replicas.map((r) => r.next()));
        if (stopped) throw new WorkerError('the inference pool was stopped while it started');
        pool = new InferencePool(model, replicas);
        return pool;
      } catch (error) {
        await terminate();
        throw error;
      }
    })();
    ready.catch(() => {}); // a caller that stops early never awaits it
    return {
      ready,
      stop: async () => {
        stopped = true;
        if (pool !== null) await pool.close();
        else await terminate();
      },
    };
  }

  get ranks(): number {
    return this.replicas.length + 1;
  }

  /**
   * Logits of each batch (inference mode), one batch per rank at a time: `batches[0]` runs on
   * this thread while the others run in the workers. The caller owns the inputs and the outputs.
   */
  async predict(batches: readonly tf.Tensor[]): Promise<tf.Tensor[]> {
    if (batches.length > this.ranks) throw new Error(`predict takes at most ${this.ranks} batches at once; received ${batches.length}`);
    const ids: number[] = [];
    for (let i = 1; i < batches.length; i++) {
      const x = batches[i]!;
      const id = this.nextId++;
      ids.push(id);
      this.replicas[i - 1]!.post({ type: 'predict', id, x: (await x.data()) as Float32Array, shape: x.shape });
    }
    const local = batches.length > 0 ? tf.tidy(() => this.model.predict(batches[0]!, { batchSize: batches[0]!.shape[0] }) as tf.Tensor) : null;
    try {
      const replies = await Promise.all(ids.map((_, i) => this.replicas[i]!.next()));
      const remote = replies.map((reply, i) => {
        if (reply.type !== 'predicted' || reply.id !== ids[i]) throw new WorkerError(`worker ${i + 1} answered ${reply.type} to a prediction`);
        return tf.tensor(reply.logits, reply.shape);
      });
      return local ? [local, ...remote] : remote;
    } catch (error) {
      local?.dispose();
      throw error;
    }
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

  /** Disposes the replicas and stops their threads. */
  async close(): Promise<void> {
    try {
      const alive = this.replicas.filter((r) => !r.failure);
      for (const replica of alive) replica.post({ type: 'close' });
      await Promise.all(alive.map((r) => r.next()));
    } finally {
      await Promise.all(this.replicas.map((r) => r.worker.terminate()));
    }
  }
}

/** Options of {@link predictBatches}. */
export interface PredictBatchesOptions {
  /** Images per forward pass. Default 32. */
  batchSize?: number;
  /**
   * Ranks: this thread plus `workers - 1` worker threads, each with a copy of the model; 'auto'
   * is one per core, and starts workers only when, timed on the first batch, the rest would
   * take this thread more than twice a worker's start-up. Either way workers need at least 4
   * batches each, so a handful of images never starts one. Default 'auto'.
   */
  workers?: WorkersOption;
}

/**
 * Runs `model` in inference mode over `images` ([N, ...inputShape], already preprocessed) in
 * batches, on every core when there are enough batches, and returns the outputs concatenated
 * in order ([N, ...outputShape]). The result equals `model.predict(images, { batchSize })`.
 *
 * @example
 * const logits = await predictBatches(model, images, { batchSize: 64 }); // all cores for large N
 * const classes = logits.argMax(1);
 */
export async function predictBatches(model: tf.LayersModel, images: tf.Tensor, options: PredictBatchesOptions = {}): Promise<tf.Tensor> {
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batchSize must be an integer >= 1; received \`batchSize=${received(batchSize)}\``);
  const n = images.shape[0] ?? 0;
  const batches = Math.ceil(n / batchSize);
  const allowed = ranksFor(batches, resolveWorkers(options.workers ?? 'auto'));
  if (allowed === 1) return tf.tidy(() => model.predict(images, { batchSize }) as tf.Tensor);
  const outputs: tf.Tensor[] = [];
  let pool: InferencePool | null = null;
  try {
    const started = performance.now();
    outputs.push(tf.tidy(() => model.predict(tf.slice(images, 0, Math.min(batchSize, n)), { batchSize }) as tf.Tensor));
    await outputs[0]!.data();
    pool = await poolWorthStarting(model, allowed, options.workers ?? 'auto', (performance.now() - started) / 1000, batches - 1);
    const ranks = pool?.ranks ?? 1;
    for (let start = batchSize; start < n; start += batchSize * ranks) {
      const round = Array.from({ length: Math.min(ranks, Math.ceil((n - start) / batchSize)) }, (_, r) => {
        const from = start + r * batchSize;
        return tf.slice(images, from, Math.min(batchSize, n - from));
      });
      try {
        outputs.push(...(pool ? await pool.predict(round) : round.map((x) => tf.tidy(() => model.predict(x, { batchSize }) as tf.Tensor))));
      } finally {
        tf.dispose(round);
      }
    }
    return tf.concat(outputs, 0);
  } finally {
    tf.dispose(outputs);
    await pool?.close();
  }
}
