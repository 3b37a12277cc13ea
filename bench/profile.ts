/**
 * Per-kernel profile of a training step (forward + backward + Adam) of the seed MNIST model at
 * batch 64: `npm run profile [-- --backends wasm,cpu --steps 5]`; `--mode infer` profiles
 * `predict` instead, with `--plan stock` (`model.predict`, the default), `folded`
 * (`inferencePlan`: BatchNorm folded into the convs) or `stock,folded` (both, one after the
 * other on the same model and input, in this process). `--size 224 --alpha 1` profiles the ImageNet-shaped MobileNetV2 (3 channels,
 * 10 classes) at that input size instead of the seed model. `--mode trainer` profiles the step of
 * `train()` (trainingStep + Adam) instead of `fit`'s.
 *
 * Every kernel of the backend is wrapped with a timer that counts exclusive time, so a kernel
 * that calls another through the registry is not counted twice. Kernels are synchronous on
 * wasm and cpu, so wall time is their cost.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fusedAdam, inferencePlan, tf, useBackend } from '../src/index.js';
import { createOptimizer } from '../src/training/optimizer.js';
import { trainingStep } from '../src/training/step.js';
import { benchImageShape, benchModel } from './benchModel.js';
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
    plan: { type: 'string', default: 'stock' },
  },
});

interface Row { calls: number; ms: number }

const instrumented = new Map<string, Map<string, Row>>();

/** The per-kernel rows of `backendName`, emptied; its kernels are wrapped once, on the first call. */
function instrument(backendName: string): Map<string, Row> {
  const existing = instrumented.get(backendName);
  if (existing) {
    existing.clear();
    return existing;
  }
  const rows = new Map<string, Row>();
  instrumented.set(backendName, rows);
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

async function profile(backendName: string, steps: number, batch: number, top: number, mode: string, plan: string): Promise<void> {
  await useBackend(backendName as 'wasm' | 'cpu');
  const size = values.size === undefined ? null : Number(values.size);
  const model = benchModel(size, Number(values.alpha));
  // The same compile call as bench.ts's fit line; trainOnBatch runs fit's per-batch step.
  model.compile({
    optimizer: fusedAdam(1e-3),
    loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred),
    metrics: ['accuracy'],
  });
  const x = tf.randomUniform([batch, ...benchImageShape(size)], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10).toFloat();
  const labels = tf.randomUniform([batch], 0, 10, 'int32', 2) as tf.Tensor1D;
  const adam = createOptimizer('adam'); // train()'s
  // The plan is built once, as evaluate and predictBatches do per pass over the data.
  const foldStart = performance.now();
  const folded = mode === 'infer' && plan === 'folded' ? inferencePlan(model) : null;
  const foldMs = performance.now() - foldStart;
  const step = mode === 'infer'
    ? async () => tf.dispose(folded ? folded.predict(x) : model.predict(x, { batchSize: batch }))
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
  const label = mode === 'infer' ? ` ${plan} (${folded ? `${folded.fusedConvs} fused convs, folded in ${foldMs.toFixed(1)} ms` : 'model.predict'})` : '';
  console.log(`\n${backendName}${label}: ${stepMs.toFixed(1)} ms/step (${((batch * 1000) / stepMs).toFixed(0)} img/s), ` +
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
  folded?.dispose();
  model.dispose();
}

const plans = values.plan.split(',');
for (const plan of plans) {
  if (plan !== 'stock' && plan !== 'folded') throw new Error(`--plan must be stock, folded or stock,folded; received \`--plan ${values.plan}\``);
}
for (const name of values.backends.split(',')) {
  for (const plan of plans) await profile(name, Number(values.steps), Number(values.batch), Number(values.top), values.mode, plan);
}
