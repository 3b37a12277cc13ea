import type { Batch } from '../data/dataset.js';
import { ReplicaPool } from '../parallel/pool.js';
import { tf } from '../tf.js';
import { explainAbort } from './memory.js';
import { type OptimizerName, setLearningRate } from './optimizer.js';
import { type StepOptions, type StepResult, trainingStep } from './step.js';

/** Thrown when the training loss becomes NaN or infinite; nothing from that step is applied or saved. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

/** One optimizer step on a batch, wherever it runs; `[mean loss, correct rows]`. */
export interface Stepper {
  /**
   * Computes the batch's loss and gradient and, when the loss is finite, applies the gradient
   * at `learningRate`; otherwise throws {@link NonFiniteLossError} (from `nonFinite`) first.
   */
  step(batch: Batch, learningRate: number, where: string): Promise<[number, number]>;
  /** Stops whatever the stepper started (worker threads); `failed` skips their orderly shutdown. */
  close(failed: boolean): Promise<void>;
}

/** What {@link createStepper} needs besides the model and its optimizer. */
export interface StepperOptions extends Required<Pick<StepOptions, 'labelSmoothing' | 'freezeBatchNormStats'>> {
  workers: number;
  batchSize: number;
  optimizerName: OptimizerName;
  /** The error for a non-finite loss at `where`. */
  nonFinite(loss: number, learningRate: number, where: string): Error;
}

/**
 * This thread's step, or, with `workers > 1`, the data-parallel step of a {@link ReplicaPool}
 * (started here, with copies of `model` and of `optimizer`'s state).
 */
export async function createStepper(model: tf.LayersModel, optimizer: tf.Optimizer, options: StepperOptions): Promise<Stepper> {
  const stepOptions = { labelSmoothing: options.labelSmoothing, freezeBatchNormStats: options.freezeBatchNormStats };
  if (options.workers > 1) {
    const pool = await ReplicaPool.start(model, optimizer, { ranks: options.workers, optimizer: options.optimizerName, ...stepOptions });
    return {
      async step(batch, learningRate, where) {
        const { loss, correct } = await pool.forwardBackward(batch, where);
        // Checked before any rank applies anything: every replica skips this step together.
        if (!Number.isFinite(loss)) throw options.nonFinite(loss, learningRate, where);
        pool.apply(learningRate);
        return [loss, correct];
      },
      close: async (failed) => {
        if (failed) await pool.terminate();
        else await pool.close();
      },
    };
  }
  return {
    async step(batch, learningRate, where) {
      let result: StepResult;
      try {
        result = trainingStep(model, batch.x, batch.y, stepOptions);
      } catch (error) {
        throw explainAbort(error, model, options.batchSize);
      }
      try {
        const [loss, right] = await Promise.all([result.loss.data(), result.correct.data()]);
        if (!Number.isFinite(loss[0])) throw options.nonFinite(loss[0]!, learningRate, where);
        setLearningRate(optimizer, learningRate);
        optimizer.applyGradients(result.grads);
        return [loss[0]!, right[0]!];
      } finally {
        result.dispose();
      }
    },
    close: async () => {},
  };
}
