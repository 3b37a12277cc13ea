import { tf } from '../tf.js';
import { applyModel } from './forward.js';
import { countCorrect, sparseSoftmaxCrossEntropy } from './losses.js';

/** Options of {@link trainingStep}. */
export interface StepOptions {
  /** Label smoothing of the loss, in [0, 1). Default 0. */
  labelSmoothing?: number;
  /** Frozen BatchNormalization layers keep their moving statistics (see `applyModel`). Default true. */
  freezeBatchNormStats?: boolean;
  /** Called when the forward pass has ended and the backward pass begins (for profilers). */
  onForwardEnd?: () => void;
}

/** What one forward and backward pass produced; the caller owns the tensors and calls `dispose`. */
export interface StepResult {
  /** Mean loss of the batch. */
  loss: tf.Scalar;
  /** Rows whose largest logit is at the label, as a float scalar. */
  correct: tf.Scalar;
  /** Gradient of the mean loss for each trainable weight, keyed by variable name. */
  grads: tf.NamedTensorMap;
  dispose(): void;
}

/**
 * One forward and backward pass of a logits classifier on a batch, with sparse softmax
 * cross-entropy, differentiated with respect to the model's trainable weights only. Nothing is
 * applied: the caller checks the loss, combines gradients (micro-batches, replicas) and steps
 * the optimizer. BatchNorm moving statistics are updated by the forward pass, as in Keras.
 *
 * @example
 * const step = trainingStep(model, x, labels);
 * optimizer.applyGradients(step.grads);
 * step.dispose();
 */
export function trainingStep(model: tf.LayersModel, x: tf.Tensor, labels: tf.Tensor1D, options: StepOptions = {}): StepResult {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const logits = applyModel(model, x, { training: true, freezeBatchNormStats: options.freezeBatchNormStats ?? true }) as tf.Tensor2D;
    correct = tf.keep(countCorrect(labels, logits));
    const loss = sparseSoftmaxCrossEntropy(labels, logits, options.labelSmoothing ?? 0);
    options.onForwardEnd?.();
    return loss;
  }, vars);
  return {
    loss: value, correct: correct!, grads,
    dispose: () => tf.dispose([value, correct!, ...Object.values(grads)]),
  };
}
