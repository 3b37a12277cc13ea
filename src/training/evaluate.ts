import type { Batch, Dataset } from '../data/dataset.js';
import { InputError, received } from '../errors.js';
import { tf } from '../tf.js';
import { countCorrect, sparseSoftmaxCrossEntropy } from './losses.js';
import { inferBatches } from '../parallel/inferBatches.js';
import type { WorkersOption } from '../parallel/workers.js';

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Images per forward pass. Default 256. */
  batchSize?: number;
  /** Evaluate only the first `limit` examples. Default: all. */
  limit?: number;
  /** Also return the confusion matrix. Default false. */
  confusion?: boolean;
  /**
   * Ranks for the forward passes: this thread plus `workers - 1` worker threads with copies of
   * the model ('auto': one per core), started only when, timed on the first batch, the rest
   * would keep this thread busy for longer than a worker's start-up (see `predictBatches`). Default 1.
   */
  workers?: WorkersOption;
  /** Stops the evaluation between batches when aborted, rejecting with `signal.reason`. Default: none. */
  signal?: AbortSignal;
}

export interface EvaluateResult {
  /** Mean cross-entropy (no label smoothing). */
  loss: number;
  /** Fraction of examples whose top logit is the label. */
  accuracy: number;
  correct: number;
  count: number;
  /** confusion[label][predicted] counts, when asked for. */
  confusion?: number[][];
}

/**
 * Loss and accuracy of `model` on `data`, in inference mode (BN uses its moving statistics,
 * folded into the conv before it: see {@link inferencePlan}; dropout is off), batch by batch,
 * loading the next batch while the current one runs. The model must output logits. Creates no
 * lasting tensors.
 *
 * @example
 * const { accuracy } = await evaluate(model, await loadMnist({ split: 'test' }));
 */
export async function evaluate(model: tf.LayersModel, data: Dataset, options: EvaluateOptions = {}): Promise<EvaluateResult> {
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batchSize must be an integer >= 1; received \`batchSize=${received(batchSize)}\``);
  const count = Math.min(data.length, options.limit ?? data.length);
  const numClasses = data.classNames.length;
  const confusion = options.confusion ? Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0)) : undefined;
  const indices = (start: number) => Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);

  let lossSum = 0;
  let correct = 0;
  const tally = async (batch: Batch, logits: tf.Tensor2D) => {
    const [stats, predicted] = tf.tidy(() => {
      const n = batch.y.shape[0];
      const sums = tf.stack([sparseSoftmaxCrossEntropy(batch.y, logits).mul(n), countCorrect(batch.y, logits)]);
      return [sums, confusion ? tf.argMax(logits, 1) : null] as const;
    });
    const [lossTotal, right] = await stats.data();
    stats.dispose();
    lossSum += lossTotal;
    correct += right;
    if (confusion && predicted) {
      const [p, y] = await Promise.all([predicted.data(), batch.y.data()]);
      predicted.dispose();
      for (let i = 0; i < p.length; i++) confusion[y[i]][p[i]]++;
    }
  };

  // The next round of batches loads while this one runs.
  await inferBatches(model, {
    count: Math.ceil(count / batchSize),
    load: (i) => {
      options.signal?.throwIfAborted();
      return data.batch(indices(i * batchSize));
    },
    input: (batch) => batch.x,
    use: (batch, logits) => tally(batch, logits as tf.Tensor2D),
    release: (batch) => tf.dispose([batch.x, batch.y]),
  }, { workers: options.workers, prefetch: true });
  return { loss: count ? lossSum / count : NaN, accuracy: count ? correct / count : NaN, correct, count, ...(confusion && { confusion }) };
}
