import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { countCorrect, sparseSoftmaxCrossEntropy } from './losses.js';

beforeAll(() => tf.setBackend('cpu'));

// PyTorch 1.13: F.cross_entropy(logits, labels) and F.cross_entropy(..., label_smoothing=0.1).
const LOGITS = [[2.0, -1.0, 0.5, 3.0], [0.1, 0.2, -0.3, 0.0], [10.0, -10.0, 5.0, 1.0]];
const LABELS = [3, 1, 2];
const TORCH = { plain: 2.197977304458618, smoothed: 2.383810520172119 };

describe('sparseSoftmaxCrossEntropy', () => {
  it("matches PyTorch's cross_entropy, with and without label smoothing", async () => {
    const logits = tf.tensor2d(LOGITS);
    const labels = tf.tensor1d(LABELS, 'int32');
    const before = tf.memory().numTensors;
    const plain = sparseSoftmaxCrossEntropy(labels, logits);
    const smoothed = sparseSoftmaxCrossEntropy(labels, logits, 0.1);
    expect((await plain.data())[0]).toBeCloseTo(TORCH.plain, 5);
    expect((await smoothed.data())[0]).toBeCloseTo(TORCH.smoothed, 5);
    tf.dispose([plain, smoothed]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, labels]);
  });

  it('has the gradient softmax − target (finite differences agree)', async () => {
    const logits = tf.tensor2d(LOGITS);
    const labels = tf.tensor1d(LABELS, 'int32');
    const grad = tf.grad((l: tf.Tensor) => sparseSoftmaxCrossEntropy(labels, l as tf.Tensor2D, 0.1))(logits);
    const g = await grad.data();
    const eps = 1e-2;
    for (const [i, j] of [[0, 3], [1, 0], [2, 2]]) {
      const bump = (d: number) => {
        const v = LOGITS.map((r) => r.slice());
        v[i][j] += d;
        return tf.tidy(() => sparseSoftmaxCrossEntropy(labels, tf.tensor2d(v), 0.1).dataSync()[0]);
      };
      expect(g[i * 4 + j]).toBeCloseTo((bump(eps) - bump(-eps)) / (2 * eps), 3);
    }
    tf.dispose([logits, labels, grad]);
  });
});

describe('countCorrect', () => {
  it('counts rows whose top logit is the label', async () => {
    const c = countCorrect(tf.tensor1d([3, 0, 0], 'int32'), tf.tensor2d(LOGITS));
    expect((await c.data())[0]).toBe(2);
  });
});
