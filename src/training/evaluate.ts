import type { Batch, Dataset, HostExamples } from '../data/dataset.js';
import type { EngineOptions } from '../engines/engine.js';
import { InputError, received } from '../errors.js';
import { checkInt, checkOptions, keysOf } from '../options/check.js';
import { tf } from '../tf.js';
import { inferBatches } from '../parallel/inferBatches.js';
import type { WorkersOption } from '../parallel/workers.js';

/** Options of {@link evaluate}; `engine` (default 'auto'), `threads` and `logger` are {@link EngineOptions}. */
export interface EvaluateOptions extends EngineOptions {
  /** Images per forward pass. Default 256. */
  batchSize?: number;
  /** Evaluate only the first `limit` examples. Default: all. */
  limit?: number;
  /** Also return the confusion matrix. Default false. */
  confusion?: boolean;
  /** `topKAccuracy` counts a label among the `topK` highest logits (capped at the class count). Default 5. */
  topK?: number;
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
  /** Fraction of examples whose top logit is the label (top-1). */
  accuracy: number;
  correct: number;
  count: number;
  /** The k of `topKAccuracy`: `options.topK`, at most the class count. */
  topK: number;
  /** Fraction of examples whose label is among the `topK` highest logits. */
  topKAccuracy: number;
  topKCorrect: number;
  /** confusion[label][predicted] counts, when asked for. */
  confusion?: number[][];
  /** What ran the forward passes. */
  engine: 'tfjs' | 'onnxruntime';
}

const EVALUATE_OPTIONS = keysOf<EvaluateOptions>()({
  batchSize: true, limit: true, confusion: true, topK: true, workers: true, signal: true, engine: true, threads: true, logger: true,
});

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
  checkOptions(options, EVALUATE_OPTIONS, 'evaluate');
  const batchSize = checkInt('batchSize', options.batchSize ?? 256, { min: 1 });
  const requestedK = checkInt('topK', options.topK ?? 5, { min: 1 });
  const count = Math.min(data.length, options.limit === undefined ? data.length : checkInt('limit', options.limit, { min: 0 }));
  const numClasses = data.classNames.length;
  const outputs = (model.outputs[0]!.shape as number[])[1];
  if (outputs !== numClasses) {
    throw new InputError(`the model outputs ${outputs} classes but the data has ${numClasses} (${received(data.classNames)})`);
  }
  const topK = Math.min(requestedK, numClasses);
  const confusion = options.confusion ? Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0)) : undefined;
  const indices = (start: number) => Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);

  let lossSum = 0;
  let correct = 0;
  let topKCorrect = 0;
  // Examples actually scored: a streaming image folder leaves out a file that fails to decode.
  let seen = 0;
  const tally = async (labels: ArrayLike<number>, logits: tf.Tensor2D) => {
    // One read of the logits, then plain arithmetic: a handful of numbers per image, which would
    // cost more as a dozen small kernel calls than as a loop.
    const values = await logits.data();
    const n = labels.length;
    seen += n;
    for (let i = 0; i < n; i++) {
      const row = values.subarray(i * numClasses, (i + 1) * numClasses) as Float32Array;
      const label = labels[i]!;
      let best = 0;
      let max = -Infinity;
      for (let c = 0; c < numClasses; c++) if (row[c]! > max) [best, max] = [c, row[c]!];
      let sum = 0;
      let above = 0;
      for (let c = 0; c < numClasses; c++) {
        sum += Math.exp(row[c]! - max);
        if (row[c]! > row[label]!) above++;
      }
      // Cross-entropy as log-sum-exp minus the label's logit; the top k holds the label when
      // fewer than k logits beat it (ties go to the label, as in tf.math.in_top_k).
      lossSum += max + Math.log(sum) - row[label]!;
      if (best === label) correct++;
      if (above < topK) topKCorrect++;
      if (confusion) confusion[label]![best]!++;
    }
  };

  // A batch as the dataset builds it: as plain values when it can (an engine outside TF.js reads
  // them as they are; TF.js gets its tensor on first use), else as tensors.
  interface Loaded { host?: HostExamples; batch?: Batch; x?: tf.Tensor4D }
  const labelsOf = async (b: Loaded) => b.host?.y ?? (await b.batch!.y.data());
  // The next round of batches loads while this one runs.
  const { engine } = await inferBatches<Loaded>(model, {
    count: Math.ceil(count / batchSize),
    load: async (i) => {
      options.signal?.throwIfAborted();
      const rows = indices(i * batchSize);
      return data.hostBatch ? { host: await data.hostBatch(rows) } : { batch: await data.batch(rows) };
    },
    input: (b) => b.batch?.x ?? (b.x ??= tf.tensor4d(b.host!.x.data, b.host!.x.shape)),
    ...(data.hostBatch && { host: (b: Loaded) => b.host!.x }),
    use: async (b, logits) => tally(await labelsOf(b), logits as tf.Tensor2D),
    release: (b) => tf.dispose([...(b.batch ? [b.batch.x, b.batch.y] : []), ...(b.x ? [b.x] : [])]),
  }, { workers: options.workers, prefetch: true, engine: options.engine, threads: options.threads, logger: options.logger });
  const rate = (n: number) => (seen ? n / seen : NaN);
  return {
    loss: rate(lossSum), accuracy: rate(correct), correct, count: seen, topK, topKAccuracy: rate(topKCorrect), topKCorrect,
    ...(confusion && { confusion }), engine,
  };
}
