import { InputError, received } from '../errors.js';
import { tf } from '../tf.js';
import { inferBatches } from './inferBatches.js';
import type { WorkersOption } from './workers.js';

/** Options of {@link predictBatches}. */
export interface PredictBatchesOptions {
  /** Images per forward pass. Default 32. */
  batchSize?: number;
  /**
   * Ranks: this thread plus `workers - 1` worker threads, each with a copy of the model; 'auto'
   * is one per core, and starts workers only when, timed on the first batch, the rest would
   * keep this thread busy for longer than a worker's start-up (they start in the background and
   * join when ready). Either way workers need at least 4 batches each, so a handful of images
   * never starts one. Default 'auto'.
   */
  workers?: WorkersOption;
}

/**
 * Runs `model` in inference mode over `images` ([N, ...inputShape], already preprocessed) in
 * batches, on every core when there are enough batches, and returns the outputs concatenated
 * in order ([N, ...outputShape]). Each BatchNormalization runs folded into the conv before it
 * ({@link inferencePlan}), so the result equals `model.predict(images, { batchSize })` within
 * float32 rounding.
 *
 * @example
 * const logits = await predictBatches(model, images, { batchSize: 64 }); // all cores for large N
 * const classes = logits.argMax(1);
 */
export async function predictBatches(model: tf.LayersModel, images: tf.Tensor, options: PredictBatchesOptions = {}): Promise<tf.Tensor> {
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batchSize must be an integer >= 1; received \`batchSize=${received(batchSize)}\``);
  const n = images.shape[0] ?? 0;
  if (n === 0) return tf.tidy(() => model.predict(images, { batchSize }) as tf.Tensor);
  const outputs: tf.Tensor[] = [];
  try {
    await inferBatches(model, {
      count: Math.ceil(n / batchSize),
      load: async (i) => tf.slice(images, i * batchSize, Math.min(batchSize, n - i * batchSize)),
      input: (x) => x,
      use: (_, y) => void outputs.push(y.clone()),
      release: (x) => x.dispose(),
    }, { workers: options.workers ?? 'auto' });
    return tf.concat(outputs, 0);
  } finally {
    tf.dispose(outputs);
  }
}
