/** Training with this library's kernels and fused Adam must not leak tensors or grow the wasm heap. */
import { expect, it } from 'vitest';
import { fusedAdam } from '../src/backend/optimizers/fusedAdam.js';
import { useBackend } from '../src/backend/useBackend.js';
import { mobileNetV2Mnist } from '../src/models/mnist.js';
import { tf } from '../src/tf.js';

const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
const usage = () => ({ tensors: tf.memory().numTensors, bytes: tf.memory().numBytes, ...(tf.getBackend() === 'wasm' && { heap: heap() }) });

it('200 model.trainOnBatch steps on wasm keep tensors, bytes and the wasm heap flat', async () => {
  await useBackend('wasm');
  const model = mobileNetV2Mnist({ alpha: 0.35, seed: 0 });
  model.compile({
    optimizer: fusedAdam(1e-3),
    loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits),
  });
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([3, 1, 4, 1], 'int32'), 10).toFloat();
  for (let i = 0; i < 10; i++) await model.trainOnBatch(x, y); // optimizer slots, allocator warm-up
  const before = usage();
  for (let i = 0; i < 200; i++) await model.trainOnBatch(x, y);
  expect(usage()).toEqual(before);
  tf.dispose([x, y]);
  model.dispose();
});

// model.fit adds shuffling (gather), metrics and the string-named optimizer and loss.
it.each([['wasm', 100], ['cpu', 20]] as const)('model.fit on %s (%i steps per epoch, stock Adam, accuracy) stays flat', async (backend, steps) => {
  await useBackend(backend);
  const model = mobileNetV2Mnist({ alpha: 0.35, seed: 0 });
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomUniform([2 * steps, 28, 28, 1], 0, 1, 'float32', 2);
  const y = tf.tensor1d(Array.from({ length: 2 * steps }, (_, i) => i % 10), 'float32');
  await model.fit(x, y, { batchSize: 2, epochs: 1, verbose: 0 });
  const before = usage();
  await model.fit(x, y, { batchSize: 2, epochs: 2, verbose: 0 });
  expect(usage()).toEqual(before);
  tf.dispose([x, y]);
  model.dispose();
});
