import { chooseEngine, type EngineChoice, type EngineOptions } from '../engines/engine.js';
import { featureModel } from '../predict/embed.js';
import { inferencePlan } from '../predict/inferencePlan.js';
import type { tf } from '../tf.js';
import { InferencePool, ranksFor, workersPayOff } from './inference.js';
import { type BatchSource, type HostBatch, runLanes } from './lanes.js';
import { resolveWorkers, type WorkersOption } from './workers.js';

export type { BatchSource } from './lanes.js';

/** Options of {@link inferBatches}: the caller's engine options, plus these. */
export interface InferBatchesOptions extends EngineOptions {
  /** The caller's `workers` option (see `predictBatches`), for the tfjs engine; undefined means 1. */
  workers: WorkersOption | undefined;
  /** Load this thread's next batch while it runs the current one. Default false. */
  prefetch?: boolean;
  /**
   * What each batch yields: the model's output, or its features (`featureModel`: the pooled
   * features before the classifier, or the last conv's map of a model without top). Default 'output'.
   */
  output?: 'output' | 'features';
}

/**
 * The batch-inference loop of `evaluate`, `classifyImages`, `embedImages` and `predictBatches`: runs `model` in
 * inference mode over every batch of `source`, on the engine {@link chooseEngine} picks.
 *
 * - onnxruntime: every batch goes through the model's session on this thread (its threads
 *   are onnxruntime's own), the next batch loading meanwhile with `prefetch`.
 * - tfjs: through an {@link inferencePlan} built here from the model's current weights and
 *   disposed at the end. With more than one rank allowed (`ranksFor`: 4 batches per rank at
 *   least), the first batch runs alone on this thread and its time decides whether workers pay
 *   off (`workersPayOff`); they then start in the background and take batches as they come
 *   free ({@link runLanes}), each through its own plan.
 *
 * Outputs reach `source.use` in batch order; each batch is released after use, whatever
 * happens; the workers are stopped before this returns or throws. Resolves to the engine used.
 *
 * @example
 * await inferBatches(model, { count: 2, load: async (i) => xs[i], input: (x) => x, use: (x, y) => print(y), release: () => {} }, { workers: 'auto' });
 */
export async function inferBatches<B>(model: tf.LayersModel, source: BatchSource<B>, options: InferBatchesOptions): Promise<EngineChoice> {
  const choice = await chooseEngine(model, options);
  const prefetch = options.prefetch ?? false;
  const { session } = choice;
  const features = options.output === 'features';
  if (session) {
    const host = source.host?.bind(source);
    await runLanes<B, tf.Tensor | HostBatch>(source, {
      // Values the source holds outside TF.js go to onnxruntime without a round trip through it.
      inputOf: (batch) => (host ? host(batch as B) : source.input(batch as B)),
      runLocal: (x) => session.run(x, features ? 'pooled' : undefined),
      ranks: 1,
      startPool: () => {
        throw new Error('the onnxruntime engine runs on one session');
      },
      prefetch,
    });
    return choice;
  }
  const target = features ? featureModel(model) : model;
  const plan = inferencePlan(target);
  try {
    await runLanes(source, {
      runLocal: (x) => plan.predict(x),
      ranks: ranksFor(source.count, resolveWorkers(options.workers)),
      worthStarting: (seconds, left) => workersPayOff(options.workers, seconds, left),
      startPool: (ranks) => InferencePool.launch(target, ranks),
      prefetch,
    });
  } finally {
    plan.dispose();
  }
  return choice;
}
