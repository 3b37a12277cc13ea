import { tf } from '../tf.js';
import { InferencePool } from './inference.js';

/** A batch inference job for {@link runLanes}: batches loaded by index, outputs taken in index order. */
export interface LaneJob<T> {
  /** Batches in all. */
  count: number;
  /** Loads batch `i` (decoding, slicing); called in index order, at most a few ahead of the outputs. */
  load(i: number): Promise<T>;
  /** The model input of a loaded batch. */
  input(item: T): tf.Tensor;
  /** Takes batch `i`'s output (owned by the callee), in index order. */
  output(i: number, item: T, logits: tf.Tensor): Promise<void> | void;
  /** Releases a loaded batch once its output was taken, or when the run ends early. */
  release(item: T): void;
}

/** How {@link runLanes} may use worker threads. */
export interface LaneOptions {
  /** Runs a batch on this thread (inference mode); returns a new tensor. */
  runLocal(x: tf.Tensor): tf.Tensor;
  /** Ranks allowed, this thread included; 1 runs everything here. */
  ranks: number;
  /**
   * After the first batch ran here in `seconds`, whether to start workers for the `left`
   * batches. Workers start in the background: this thread keeps running batches while they
   * load, and each joins when it is ready. Default: always.
   */
  worthStarting?(seconds: number, left: number): boolean;
  /** Starts the workers (default: an {@link InferencePool} of the model behind `runLocal`). */
  startPool(ranks: number): ReturnType<typeof InferencePool.launch>;
}

/** Batches each worker keeps queued, so it never waits for this thread to post the next. */
const DEPTH = 2;

/**
 * Runs every batch of `job`: on this thread, and on worker replicas once they are up. The
 * batches are dealt dynamically, one at a time to whichever rank is free, so a rank on a busy
 * core takes fewer of them, and the workers' start-up (TF.js, its wasm, the model: about a
 * second) runs on their own cores while this thread works instead of before. Outputs are handed
 * to `job.output` in index order, so results are the same whichever rank ran a batch and
 * however many ranks there were (each batch's numbers are the model's on that batch).
 *
 * If the job ends before the workers are ready, they are stopped unused. A worker that fails
 * fails the run with its {@link WorkerError}; nothing is left running either way.
 */
export async function runLanes<T>(job: LaneJob<T>, options: LaneOptions): Promise<void> {
  let nextBatch = 0;
  let nextOutput = 0;
  const done = new Map<number, { item: T; logits: tf.Tensor }>();
  const loaded = new Set<T>();
  let failure: unknown = null;

  /** Takes the next batch index and loads it, or null when none is left (or the run failed). */
  const take = async (): Promise<{ i: number; item: T } | null> => {
    if (failure !== null || nextBatch >= job.count) return null;
    const i = nextBatch++;
    const item = await job.load(i);
    loaded.add(item);
    return { i, item };
  };
  /** Records batch i's output and hands out every output that is now next in order. */
  const finish = async (i: number, item: T, logits: tf.Tensor) => {
    done.set(i, { item, logits });
    while (done.has(nextOutput)) {
      const ready = done.get(nextOutput)!;
      done.delete(nextOutput);
      nextOutput++;
      try {
        await job.output(nextOutput - 1, ready.item, ready.logits);
      } finally {
        loaded.delete(ready.item);
        job.release(ready.item);
      }
    }
  };
  const fail = (error: unknown) => {
    failure ??= error;
  };

  const local = async (first: boolean): Promise<number> => {
    const batch = await take();
    if (batch === null) return 0;
    const started = performance.now();
    const logits = options.runLocal(job.input(batch.item));
    await finish(batch.i, batch.item, logits);
    return first ? (performance.now() - started) / 1000 : 0;
  };

  let launch: ReturnType<typeof InferencePool.launch> | null = null;
  const workerLanes: Promise<void>[] = [];
  try {
    // The first batch always runs here: it times the model before any worker is started.
    const seconds = await local(true);
    const left = job.count - nextBatch;
    if (options.ranks > 1 && left > 0 && (options.worthStarting?.(seconds, left) ?? true)) {
      launch = options.startPool(options.ranks);
      launch.ready.then((pool) => {
        for (let w = 0; w < pool.ranks - 1; w++) {
          for (let d = 0; d < DEPTH; d++) {
            workerLanes.push((async () => {
              for (let batch = await take(); batch !== null; batch = await take()) {
                const logits = await pool.runOn(w, job.input(batch.item));
                await finish(batch.i, batch.item, logits);
              }
            })().catch(fail));
          }
        }
      }, fail);
    }
    while (failure === null && nextBatch < job.count) {
      await local(false);
      // Let worker replies and a finished start-up in before this thread takes the next batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // This thread is out of batches. Batches still out are on workers, which are then up;
    // when none is, a start-up still under way is not waited for.
    if (failure === null && nextOutput < job.count) await Promise.all(workerLanes);
    if (failure !== null) throw failure;
  } catch (error) {
    fail(error);
    throw failure;
  } finally {
    if (launch !== null) {
      await launch.stop();
      // With the workers gone, every lane ends at its next step (take() gives null after a failure).
      failure ??= 'stopped';
      await Promise.allSettled(workerLanes);
    }
    for (const { logits } of done.values()) logits.dispose();
    for (const item of loaded) job.release(item);
  }
}
