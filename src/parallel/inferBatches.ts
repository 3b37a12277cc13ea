import { inferencePlan } from '../predict/inferencePlan.js';
import { tf } from '../tf.js';
import { type InferencePool, poolWorthStarting, ranksFor } from './inference.js';
import { resolveWorkers, type WorkersOption } from './workers.js';

/** How {@link inferBatches} gets each batch, feeds it to the model and hands its output back. */
export interface BatchSource<B> {
  /** Batches in all. */
  count: number;
  /** Loads batch `index` (0-based). */
  load(index: number): Promise<B>;
  /** The model input of a loaded batch. */
  input(batch: B): tf.Tensor;
  /** Receives each batch's output, in batch order; the output is disposed when this returns. */
  use(batch: B, output: tf.Tensor, index: number): Promise<void> | void;
  /** Frees a loaded batch: after `use`, or unused when the run stops early. */
  release(batch: B): void;
}

/** Options of {@link inferBatches}. */
export interface InferBatchesOptions {
  /** The caller's `workers` option (see `predictBatches`); undefined means 1. */
  workers: WorkersOption | undefined;
  /** Load the next round of batches while this one runs. Default false. */
  prefetch?: boolean;
}

/** Loads batches `indices`; when one load fails, frees those that loaded and throws its error. */
async function loadAll<B>(source: BatchSource<B>, indices: number[]): Promise<B[]> {
  const settled = await Promise.allSettled(indices.map((i) => source.load(i)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    for (const s of settled) if (s.status === 'fulfilled') source.release(s.value);
    throw failed.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<B>).value);
}

/**
 * The batch-inference loop of `evaluate`, `classifyImages` and `predictBatches`: runs `model` in
 * inference mode over every batch of `source`, through an {@link inferencePlan} built here from
 * the model's current weights and disposed at the end. With more than one rank allowed
 * (`ranksFor`: 4 batches per rank at least), the first batch runs alone on this thread and its
 * time decides whether an {@link InferencePool} pays off (`poolWorthStarting`); the batches then
 * go in rounds of one per rank. Each batch is released after use, whatever happens; the pool is
 * closed before this returns or throws.
 *
 * @example
 * await inferBatches(model, { count: 2, load: async (i) => xs[i], input: (x) => x, use: (x, y) => print(y), release: () => {} }, { workers: 'auto' });
 */
export async function inferBatches<B>(model: tf.LayersModel, source: BatchSource<B>, options: InferBatchesOptions): Promise<void> {
  const { count } = source;
  const allowed = ranksFor(count, resolveWorkers(options.workers));
  const plan = inferencePlan(model);
  const local = (x: tf.Tensor) => plan.predict(x);
  let pool: InferencePool | null = null;
  let decided = allowed === 1;
  let next = 0;
  const take = async () => {
    const start = next;
    const indices = Array.from({ length: Math.min(pool?.ranks ?? 1, count - start) }, (_, i) => start + i);
    next += indices.length;
    return { start, batches: await loadAll(source, indices) };
  };
  let pending: ReturnType<typeof take> | null = count > 0 ? take() : null;
  try {
    while (pending) {
      const { start, batches } = await pending;
      pending = options.prefetch && decided && next < count ? take() : null;
      const started = performance.now();
      try {
        const outputs = pool ? await pool.predict(batches.map((b) => source.input(b)), local) : batches.map((b) => local(source.input(b)));
        try {
          for (let i = 0; i < batches.length; i++) await source.use(batches[i]!, outputs[i]!, start + i);
        } finally {
          tf.dispose(outputs);
        }
      } finally {
        batches.forEach((b) => source.release(b));
      }
      if (!decided) {
        decided = true;
        pool = await poolWorthStarting(model, allowed, options.workers, (performance.now() - started) / 1000, count - next);
      }
      if (!pending && next < count) pending = take();
    }
  } finally {
    try {
      if (pending) await pending.then(({ batches }) => batches.forEach((b) => source.release(b)), () => {});
      await pool?.close();
    } finally {
      plan.dispose();
    }
  }
}
