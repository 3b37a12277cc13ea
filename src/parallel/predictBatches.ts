import type { EngineOptions } from '../engines/engine.js';
import { checkInt, checkOptions } from '../options/check.js';
import { tf } from '../tf.js';
import { inferBatches } from './inferBatches.js';
import type { WorkersOption } from './workers.js';

/** Options of {@link predictBatches}; `engine`, `threads` and `logger` are {@link EngineOptions}. */
export interface PredictBatchesOptions extends EngineOptions {
  /** Images per forward pass. Default 32. */
  batchSize?: number;
  /**
   * Ranks: this thread plus `workers - 1` worker threads, each with a copy of the model; 'auto'
   * is one per core, and starts workers only when, timed on the first batch, the rest would
   * keep this thread busy for longer than a worker's start-up (they start in the background and
   * join when ready). Either way workers need at least 4 batches each, so a handful of images
   * never starts one. The onnxruntime engine ignores it (its session runs on `threads` cores).
   * Default 'auto'.
   */
  workers?: WorkersOption;
}

const OPTION_NAMES = ['batchSize', 'workers', 'engine', 'threads', 'logger'] as const satisfies readonly (keyof PredictBatchesOptions)[];

/** The largest input that predictBatches copies out whole for onnxruntime (see there). */
const HOST_COPY_BYTES = 512 * 2 ** 20;

/**
 * Runs `model` in inference mode over `images` ([N, ...inputShape], already preprocessed) in
 * batches, on every core, and returns the outputs concatenated in order ([N, ...outputShape]).
 * Each BatchNormalization runs folded into the conv before it, so the result equals
 * `model.predict(images, { batchSize })` within float32 rounding. With onnxruntime-node
 * installed, a MobileNetV2 of this library runs on it (`engine: 'auto'`, the default: one
 * session per model, on an in-memory `exportOnnx` of it); any other model, or `engine: 'tfjs'`,
 * runs on TF.js ({@link inferencePlan}), with worker threads when there are enough batches.
 *
 * @example
 * const logits = await predictBatches(model, images, { batchSize: 64 }); // all cores for large N
 * const classes = logits.argMax(1);
 * await predictBatches(model, images, { engine: 'onnxruntime', threads: 2, logger: stderrLogger });
 */
export async function predictBatches(model: tf.LayersModel, images: tf.Tensor, options: PredictBatchesOptions = {}): Promise<tf.Tensor> {
  checkOptions(options, OPTION_NAMES, 'predictBatches');
  const batchSize = checkInt('batchSize', options.batchSize ?? 32, { min: 1 });
  const n = images.shape[0] ?? 0;
  if (n === 0) return tf.tidy(() => model.predict(images, { batchSize }) as tf.Tensor);
  const outputs: tf.Tensor[] = [];
  const rows = (i: number) => [i * batchSize, Math.min(batchSize, n - i * batchSize)] as const;
  // For an engine outside TF.js, the images are read out once and each batch is a view of them,
  // instead of a slice inside TF.js copied out again (two copies of every batch); only while
  // that copy of the input stays small.
  let all: Float32Array | undefined;
  const perImage = images.size / n;
  const host = images.dtype === 'float32' && images.size * 4 <= HOST_COPY_BYTES
    ? (i: number) => {
      all ??= images.dataSync() as Float32Array;
      const [start, count] = rows(i);
      return { data: all.subarray(start * perImage, (start + count) * perImage), shape: [count, ...images.shape.slice(1)] };
    }
    : undefined;
  try {
    await inferBatches(model, {
      count: Math.ceil(n / batchSize),
      load: async (i) => ({ index: i, x: null as tf.Tensor | null }),
      input: (batch) => (batch.x ??= tf.slice(images, ...rows(batch.index))),
      ...(host && { host: (batch: { index: number; x: tf.Tensor | null }) => host(batch.index) }),
      use: (_, y) => void outputs.push(y.clone()),
      release: (batch) => batch.x?.dispose(),
    }, { engine: options.engine, threads: options.threads, logger: options.logger, workers: options.workers ?? 'auto' });
    return tf.concat(outputs, 0);
  } finally {
    tf.dispose(outputs);
  }
}
