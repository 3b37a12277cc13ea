import type { Batch, Dataset } from '../data/dataset.js';
import { InputError, received } from '../errors.js';
import { tf } from '../tf.js';
import { countCorrect, sparseSoftmaxCrossEntropy } from './losses.js';

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Images per forward pass. Default 256. */
  batchSize?: number;
  /** Evaluate only the first `limit` examples. Default: all. */
  limit?: number;
  /** Also return the confusion matrix. Default false. */
  confusion?: boolean;
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
 * dropout is off), batch by batch, loading the next batch while the current one runs. The
 * model must output logits. Creates no lasting tensors.
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
  let pending: Promise<Batch> | null = count > 0 ? data.batch(indices(0)) : null;
  try {
    for (let start = 0; start < count; start += batchSize) {
      const batch = await pending!;
      pending = start + batchSize < count ? data.batch(indices(start + batchSize)) : null;
      try {
        const [stats, predicted] = tf.tidy(() => {
          const logits = model.apply(batch.x, { training: false }) as tf.Tensor2D;
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
      } finally {
        tf.dispose([batch.x, batch.y]);
      }
    }
  } finally {
    if (pending) await pending.then((b) => tf.dispose([b.x, b.y]), () => {});
  }
  return { loss: count ? lossSum / count : NaN, accuracy: count ? correct / count : NaN, correct, count, ...(confusion && { confusion }) };
}
