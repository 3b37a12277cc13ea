/**
 * Per-kernel profile of a training step (forward + backward + Adam) of the seed MNIST model at
 * batch 64: `npm run profile [-- --backends wasm,cpu --steps 5]`; `--mode infer` profiles
 * `predict` instead. `--size 224 --alpha 1` profiles the ImageNet-shaped MobileNetV2 (3 channels,
 * 10 classes) at that input size instead of the seed model. `--mode trainer` profiles the step of
 * `train()` (trainingStep + Adam) instead of `fit`'s.
 *
 * Every kernel of the backend is wrapped with a timer that counts exclusive time, so a kernel
 * that calls another through the registry is not counted twice. Kernels are synchronous on
 * wasm and cpu, so wall time is their cost.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { mobileNetV2, mobileNetV2Mnist, tf, useBackend } from '../src/index.js';
import { trainingStep } from '../src/training/step.js';
import { wrapKernels } from './wrapKernels.js';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    steps: { type: 'string', default: '5' },
    batch: { type: 'string', default: '64' },
    top: { type: 'string', default: '25' },
    mode: { type: 'string', default: 'train' },
    size: { type: 'string' },
    alpha: { type: 'string', default: '1' },
  },
});

interface Row { calls: number; ms: number }

function instrument(backendName: string): Map<string, Row> {
  const rows = new Map<string, Row>();
  let childMs = 0;
  wrapKernels(backendName, (kernelName, inner) => (args) => {
    const outerChild = childMs;
    childMs = 0;
    const start = performance.now();
    try {
      return inner(args);
    } finally {
      const total = performance.now() - start;
      const row = rows.get(kernelName) ?? { calls: 0, ms: 0 };
      row.calls++;
      row.ms += total - childMs;
      rows.set(kernelName, row);
      childMs = outerChild + total;
    }
  });
  return rows;
}

async function profile(backendName: string, steps: number, batch: number, top: number, mode: string): Promise<void> {
  await useBackend(backendName as 'wasm' | 'cpu');
  const size = values.size === undefined ? null : Number(values.size);
  const model = size === null
    ? mobileNetV2Mnist({ seed: 0 })
    : mobileNetV2({ inputShape: [size, size, 3], numClasses: 10, alpha: Number(values.alpha), seed: 0 });
  // The same compile call as bench.ts's fit line; trainOnBatch runs fit's per-batch step.
  model.compile({
    optimizer: tf.train.adam(1e-3),
    loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred),
    metrics: ['accuracy'],
  });
  const x = tf.randomUniform(size === null ? [batch, 28, 28, 1] : [batch, size, size, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10).toFloat();
  const labels = tf.randomUniform([batch], 0, 10, 'int32', 2) as tf.Tensor1D;
  const adam: tf.Optimizer = tf.train.adam(1e-3); // its applyGradients takes the NamedTensorMap of trainingStep
  const step = mode === 'infer'
    ? async () => tf.dispose(model.predict(x, { batchSize: batch }))
    : mode === 'trainer'
      ? async () => {
        const result = trainingStep(model, x, labels);
        adam.applyGradients(result.grads);
        await result.loss.data();
        result.dispose();
      }
      : async () => void (await model.trainOnBatch(x, y));
  await step(); // warm-up: builds the optimizer's slots and the wasm operators
  const rows = instrument(backendName);
  const start = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const stepMs = (performance.now() - start) / steps;
  const kernelMs = [...rows.values()].reduce((a, r) => a + r.ms, 0) / steps;
  const calls = [...rows.values()].reduce((a, r) => a + r.calls, 0) / steps;
  console.log(`\n${backendName}: ${stepMs.toFixed(1)} ms/step (${((batch * 1000) / stepMs).toFixed(0)} img/s), ` +
    `kernels ${kernelMs.toFixed(1)} ms in ${calls.toFixed(0)} calls, outside kernels ${(stepMs - kernelMs).toFixed(1)} ms, ` +
    `load average ${loadavg()[0]!.toFixed(2)}`);
  console.log('kernel'.padEnd(40) + 'calls/step'.padStart(11) + 'ms/step'.padStart(10) + '%'.padStart(7));
  const sorted = [...rows.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
  for (const [name, r] of sorted) {
    console.log(name.padEnd(40) + (r.calls / steps).toFixed(0).padStart(11) + (r.ms / steps).toFixed(2).padStart(10) +
      ((100 * r.ms) / steps / stepMs).toFixed(1).padStart(7));
  }
  tf.dispose([x, y, labels]);
  adam.dispose();
  model.dispose();
}

for (const name of values.backends.split(',')) {
  await profile(name, Number(values.steps), Number(values.batch), Number(values.top), values.mode);
}
