/** Training with this library's kernels must not leak tensors or grow the wasm heap. */
import { expect, it } from 'vitest';
import { useBackend } from '../src/backend/useBackend.js';
import { mobileNetV2Mnist } from '../src/models/mnist.js';
import { tf } from '../src/tf.js';

it('200 model.trainOnBatch steps on wasm keep tensors, bytes and the wasm heap flat', async () => {
  await useBackend('wasm');
  const model = mobileNetV2Mnist({ alpha: 0.35, seed: 0 });
  model.compile({
    optimizer: tf.train.adam(1e-3),
    loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits),
  });
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([3, 1, 4, 1], 'int32'), 10).toFloat();
  const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  for (let i = 0; i < 10; i++) await model.trainOnBatch(x, y); // optimizer slots, allocator warm-up
  const before = { tensors: tf.memory().numTensors, bytes: tf.memory().numBytes, heap: heap() };
  for (let i = 0; i < 200; i++) await model.trainOnBatch(x, y);
  expect({ tensors: tf.memory().numTensors, bytes: tf.memory().numBytes, heap: heap() }).toEqual(before);
  tf.dispose([x, y]);
  model.dispose();
});
