import { tf } from '../tf.js';

/**
 * Mean softmax cross-entropy between integer labels and logits, like PyTorch's
 * `F.cross_entropy(logits, labels, label_smoothing=s)`: the target puts 1 − s on the true
 * class plus s / K on every class. Computed through logSoftmax, which subtracts the row
 * maximum, so large logits do not overflow.
 *
 * @param labels int32 class indices, [N].
 * @param logits [N, K].
 * @param labelSmoothing s in [0, 1). Default 0.
 * @example
 * const loss = sparseSoftmaxCrossEntropy(tf.tensor1d([3], 'int32'), logits, 0.1);
 */
export function sparseSoftmaxCrossEntropy(labels: tf.Tensor1D, logits: tf.Tensor2D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const numClasses = logits.shape[1];
    const logProbs = tf.logSoftmax(logits);
    let target = tf.oneHot(labels, numClasses).toFloat();
    if (labelSmoothing > 0) target = target.mul(1 - labelSmoothing).add(labelSmoothing / numClasses);
    return tf.neg(tf.sum(tf.mul(target, logProbs), 1)).mean() as tf.Scalar;
  });
}

/** Number of rows whose largest logit is at the label, as a float scalar. */
export function countCorrect(labels: tf.Tensor1D, logits: tf.Tensor2D): tf.Scalar {
  // Summed as int32: the cpu backend stores a bool→float32 cast's values in a Uint8Array, which
  // the fast leading-axis Sum kernel does not accept.
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1).toInt(), labels), 'int32')).toFloat() as tf.Scalar);
}
