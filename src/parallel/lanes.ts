import type { tf } from '../tf.js';

/** A batch as plain float32 values, for an engine that reads them outside TF.js (onnxruntime). */
export interface HostBatch {
  data: Float32Array;
  shape: number[];
}

/** How a batch-inference loop gets each batch, feeds it to the model and hands its output back. */
export interface BatchSource<B> {
  /** Batches in all. */
  count: number;
  /** Loads batch `index` (0-based). Batches are taken in index order, a few at most ahead of the outputs. */
  load(index: number): Promise<B>;
  /** The model input of a loaded batch. */
  input(batch: B): tf.Tensor;
  /**
   * The same input as plain values, where the source has them without a copy through TF.js
   * (an engine outside TF.js then reads them directly). Default: none, `input` is used.
   */
  host?(batch: B): HostBatch;
  /** Receives each batch's output, in batch order; the output is disposed when this returns. */
  use(batch: B, output: tf.Tensor, index: number): Promise<void> | void;
  /** Frees a loaded batch: after `use`, or unused when the run stops early. */
  release(batch: B): void;
}

/** A pool of workers being started (see `InferencePool.launch`). */
export interface PoolLaunch<I = tf.Tensor> {
  ready: Promise<{ ranks: number; runOn(worker: number, x: I): Promise<tf.Tensor> }>;
  stop(): Promise<void>;
}

/** How {@link runLanes} runs batches. */
export interface LaneOptions<I = tf.Tensor> {
  /** What a batch's input is: `source.input`'s tensor (the default), or another form of it. */
  inputOf?(batch: unknown): I;
  /** Runs a batch on this thread (inference mode, or onnxruntime's session); returns a new tensor. */
  runLocal(x: I): tf.Tensor | Promise<tf.Tensor>;
  /** Ranks allowed, this thread included; 1 runs everything here. */
  ranks: number;
  /**
   * After the first batch ran here in `seconds`, whether workers are worth starting for the
   * `left` batches. Default: yes.
   */
  worthStarting?(seconds: number, left: number): boolean;
  /** Starts `ranks - 1` workers. */
  startPool(ranks: number): PoolLaunch<I>;
  /** Load this thread's next batch while it runs the current one. Default false. */
  prefetch?: boolean;
}

/** Batches each worker holds at once, so that it never waits for this thread to post the next. */
const WORKER_DEPTH = 2;

/**
 * Runs every batch of `source` on this thread and, once they are up, on worker threads. The
 * first batch runs here and is timed; if workers are worth it they start in the background, so
 * their start-up (TF.js, its wasm, the model: about a second) runs on their own cores while
 * this thread goes on, and each joins when ready. Batches are dealt one at a time to whichever
 * rank is free, so a rank on a busier core takes fewer. Outputs reach `source.use` in index
 * order, so results do not depend on which rank ran a batch or on how many ranks there were.
 *
 * When this thread runs out of batches before the workers are ready, they are stopped unused.
 * A failure anywhere (a load, a use, a worker) ends the run with that error after every loaded
 * batch was released and the workers stopped.
 */
export async function runLanes<B, I = tf.Tensor>(source: BatchSource<B>, options: LaneOptions<I>): Promise<void> {
  const inputOf = (batch: B): I => (options.inputOf ? options.inputOf(batch) : (source.input(batch) as I));
  const { count } = source;
  let nextBatch = 0;
  let nextOutput = 0;
  const finished = new Map<number, { batch: B; output: tf.Tensor }>();
  const loaded = new Set<B>();
  let failure: { error: unknown } | null = null;
  const fail = (error: unknown) => {
    failure ??= { error };
  };

  /** Takes the next batch index and loads it; null when none is left or the run failed. */
  const take = async (): Promise<{ index: number; batch: B } | null> => {
    if (failure !== null || nextBatch >= count) return null;
    const index = nextBatch++;
    const batch = await source.load(index);
    loaded.add(batch);
    if (failure !== null) return null; // released with the rest at the end
    return { index, batch };
  };
  // Outputs are handed to `use` by one flush at a time, in index order: a lane that finishes
  // while another's flush is under way leaves its output to that flush.
  let flushing = false;
  let flushed: Promise<void> = Promise.resolve();
  const flush = async () => {
    flushing = true;
    try {
      while (finished.has(nextOutput)) {
        const done = finished.get(nextOutput)!;
        finished.delete(nextOutput);
        try {
          await source.use(done.batch, done.output, nextOutput++);
        } finally {
          done.output.dispose();
          loaded.delete(done.batch);
          source.release(done.batch);
        }
      }
    } finally {
      flushing = false;
    }
  };
  /** Keeps batch `index`'s output and hands every output that is now next in order to `use`. */
  const finish = (index: number, batch: B, output: tf.Tensor): Promise<void> => {
    finished.set(index, { batch, output });
    if (!flushing) flushed = flush();
    return flushed;
  };
  const runHere = async (item: { index: number; batch: B }) => {
    await finish(item.index, item.batch, await options.runLocal(inputOf(item.batch)));
  };

  let launch: PoolLaunch<I> | null = null;
  const workerLanes: Promise<void>[] = [];
  const joinWorkers = (pool: Awaited<PoolLaunch<I>['ready']>) => {
    for (let worker = 0; worker < pool.ranks - 1; worker++) {
      for (let d = 0; d < WORKER_DEPTH; d++) {
        workerLanes.push((async () => {
          for (let item = await take(); item !== null; item = await take()) {
            await finish(item.index, item.batch, await pool.runOn(worker, inputOf(item.batch)));
          }
        })().catch(fail));
      }
    }
  };

  try {
    const first = await take();
    if (first !== null) {
      const started = performance.now();
      await runHere(first);
      const left = count - nextBatch;
      if (options.ranks > 1 && left > 0 && (options.worthStarting?.((performance.now() - started) / 1000, left) ?? true)) {
        const pool = options.startPool(options.ranks);
        launch = pool;
        pool.ready.then(joinWorkers, fail);
      }
    }
    let ahead: Promise<{ index: number; batch: B } | null> | null = null;
    while (failure === null) {
      const item = await (ahead ?? take());
      ahead = null;
      if (item === null) break;
      if (options.prefetch) {
        ahead = take();
        // Awaited below; while an asynchronous run (onnxruntime's) is under way, a failing load
        // must not count as an unhandled rejection.
        ahead.catch(() => {});
      }
      await runHere(item);
      // Worker replies and a finished start-up come in as events: let them in between batches.
      if (launch !== null) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (ahead !== null) await ahead;
    // This thread is out of batches. Any still out are on workers, which are up; a start-up
    // still under way is not waited for.
    if (failure === null && nextOutput < count) await Promise.all(workerLanes);
    if (failure !== null) throw (failure as { error: unknown }).error;
  } catch (error) {
    fail(error);
    throw (failure as { error: unknown } | null)?.error ?? error;
  } finally {
    if (launch !== null) {
      fail(null); // every lane stops at its next take
      await launch.stop();
      await Promise.allSettled(workerLanes);
    }
    for (const { output } of finished.values()) output.dispose();
    for (const batch of loaded) source.release(batch);
  }
}
