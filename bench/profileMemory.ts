/**
 * What a training step holds at its peak, on wasm: `npm run profile:memory [-- --size 224|mnist --alpha 1 --batch 16]`.
 *
 * Runs one step of the trainer (forward, backward, Adam) on MobileNetV2 (`--size mnist`: the seed
 * MNIST model) with random data and
 * records, after every kernel, the bytes of live tensors. At the peak it prints the live
 * tensors grouped by the kernel that made them and by the layer that was running, plus the
 * wasm heap size. `--stock` runs the step the plain way (`model.apply` inside
 * `tf.variableGrads`) for comparison.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import { mobileNetV2, tf, useBackend } from '../src/index.js';
import { createOptimizer } from '../src/training/optimizer.js';
import { trainingStep } from '../src/training/step.js';
import { benchImageShape, benchModel } from './benchModel.js';
import { wrapKernels } from './wrapKernels.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '224' },
    alpha: { type: 'string', default: '1' },
    batch: { type: 'string', default: '16' },
    classes: { type: 'string', default: '10' },
    top: { type: 'string', default: '15' },
    steps: { type: 'string', default: '2' },
    stock: { type: 'boolean', default: false },
  },
});

interface Live { kernel: string; layer: string; phase: string; bytes: number }

const size = values.size === 'mnist' ? null : Number(values.size);
const batch = Number(values.batch);
await useBackend('wasm');
const backend = tf.backend() as unknown as {
  disposeData(dataId: DataId, force?: boolean): boolean;
  wasm: { HEAPU8: Uint8Array };
};

const live = new Map<DataId, Live>();
let bytes = 0;
let peak = { bytes: 0, at: '', snapshot: [] as Live[] };
let layer = '(none)';
let phase = 'forward';

wrapKernels('wasm', (kernelName, inner) => (args) => {
  const out = inner(args);
  for (const t of (Array.isArray(out) ? out : [out]) as TensorInfo[]) {
    if (live.has(t.dataId)) continue;
    const n = t.shape.reduce((a, b) => a * b, 1) * 4;
    live.set(t.dataId, { kernel: kernelName, layer, phase, bytes: n });
    bytes += n;
  }
  if (bytes > peak.bytes) peak = { bytes, at: `${phase} ${kernelName} in ${layer}`, snapshot: [...live.values()] };
  return out;
});
const dispose = backend.disposeData.bind(backend);
backend.disposeData = (dataId, force) => {
  const freed = dispose(dataId, force);
  const entry = live.get(dataId);
  if (freed && entry) {
    live.delete(dataId);
    bytes -= entry.bytes;
  }
  return freed;
};

const model = size === null ? benchModel(null, Number(values.alpha)) : mobileNetV2({ numClasses: Number(values.classes), alpha: Number(values.alpha), inputShape: [size, size, 3], seed: 0 });
for (const l of model.layers) {
  const call = l.call.bind(l);
  // A profiler, not library code: each layer's call is wrapped to attribute kernels to layers.
  (l as { call: typeof l.call }).call = (inputs, kwargs) => {
    const before = layer;
    layer = l.name;
    try {
      return call(inputs, kwargs);
    } finally {
      layer = before;
    }
  };
}
const optimizer = createOptimizer('adam'); // train()'s
const x = tf.randomNormal([batch, ...benchImageShape(size)]);
const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
console.log(`MobileNetV2 α=${values.alpha} ${size === null ? 'seed MNIST 28×28×1' : `${size}×${size}×3`}, batch ${batch}, ${values.stock ? 'stock model.apply' : 'trainer step'}; load ${loadavg()[0]!.toFixed(2)}`);
for (let s = 0; s < Number(values.steps); s++) {
  peak = { bytes: 0, at: '', snapshot: [] };
  const started = performance.now();
  phase = 'forward';
  if (values.stock) {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(x, { training: true }) as tf.Tensor;
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(y, Number(values.classes)), logits) as tf.Scalar;
      phase = 'backward';
      return loss;
    }, vars);
    phase = 'optimizer';
    optimizer.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
  } else {
    const result = trainingStep(model, x, y, { onForwardEnd: () => { phase = 'backward'; } });
    phase = 'optimizer';
    optimizer.applyGradients(result.grads);
    result.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`step ${s + 1}: ${seconds.toFixed(1)} s, peak live tensors ${mb(peak.bytes)} at ${peak.at}; wasm heap ${mb(backend.wasm.HEAPU8.length)}; ` +
    `peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}; per image ${mb(peak.bytes / batch)}`);
}
const top = Number(values.top);
const group = (key: (l: Live) => string) => {
  const rows = new Map<string, { n: number; bytes: number }>();
  for (const l of peak.snapshot) {
    const row = rows.get(key(l)) ?? { n: 0, bytes: 0 };
    row.n++;
    row.bytes += l.bytes;
    rows.set(key(l), row);
  }
  return [...rows.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
};
console.log('\nat the peak, by phase and kernel that made the tensor:');
for (const [k, r] of group((l) => `${l.phase} ${l.kernel}`)) console.log(`  ${mb(r.bytes).padStart(8)}  ${String(r.n).padStart(4)} tensors  ${k}`);
console.log('\nby layer:');
for (const [k, r] of group((l) => l.layer)) console.log(`  ${mb(r.bytes).padStart(8)}  ${String(r.n).padStart(4)} tensors  ${k}`);
