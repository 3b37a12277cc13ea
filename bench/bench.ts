/**
 * Training and inference speed: `npm run bench [-- --backends wasm,cpu --steps 10]`.
 *
 * One JSON line per configuration: the seed MNIST model at batch 64 (train via `model.fit` with
 * this library's `fusedAdam` and metrics ['accuracy'], and via this library's trainer, and inference) and ImageNet MobileNetV2 α=1 at 224 (inference,
 * batch 8). When PyTorch is installed, scripts/torch_bench.py runs in the same process tree with
 * OMP_NUM_THREADS=2 (`--torch-threads`), and a last line gives each backend's ratios to it. Peak RSS is the
 * process's peak so far (configurations run in sequence).
 *
 * Then the inference rows (bench/inference.ts; `--no-inference` skips them): the seed MNIST
 * model's evaluate on 10k and α=1 at 224 at batch 32 and 1, on TF.js (1 and N workers), on the
 * library's onnxruntime engine, on onnxruntime's own session.run and on PyTorch, with peak RSS
 * and the target ratios.
 *
 * `--workers N|auto` runs the data-parallel benchmark instead (bench/parallel.ts).
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fusedAdam, inferencePlan, mobileNetV2, mobileNetV2Mnist, tf, useBackend } from '../src/index.js';
import type { Batch, Dataset } from '../src/data/dataset.js';
import { train } from '../src/training/trainer.js';
import { runInferenceBench } from './inference.js';
import { runParallelBench } from './parallel.js';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    steps: { type: 'string', default: '10' },
    'cpu-steps': { type: 'string', default: '3' },
    imagenet: { type: 'string', default: 'wasm' },
    // Node 20's parseArgs has no --no-<flag> negation.
    'no-torch': { type: 'boolean', default: false },
    'no-inference': { type: 'boolean', default: false },
    // The reference is 2 threads; on a loaded 2-core machine PyTorch's OpenMP threads
    // wait on each other (measured: 16-26 img/s instead of ~450), and 1 thread is the fairer check.
    'torch-threads': { type: 'string', default: '2' },
    // The data-parallel axis (bench/parallel.ts): 1 worker, N workers and PyTorch on N threads.
    workers: { type: 'string' },
  },
});

if (values.workers !== undefined) {
  runParallelBench(values.workers, undefined, !values['no-torch']);
  process.exit(0);
}

const BATCH = 64;
const peakRssMB = () => Math.round(process.resourceUsage().maxRSS / 1024);
// The 1-minute load average goes on every line: on a shared machine, timings (PyTorch's
// two OpenMP threads most of all) are only comparable at similar load.
const emit = (line: Record<string, unknown>) => console.log(JSON.stringify({ ...line, loadAvg1m: +loadavg()[0]!.toFixed(2) }));

/** A user's compile call for a logits head: this library's Adam (`fusedAdam`), one-hot labels, accuracy. */
function compiled(model: tf.LayersModel): tf.LayersModel {
  model.compile({
    optimizer: fusedAdam(1e-3),
    loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits),
    metrics: ['accuracy'],
  });
  return model;
}

// fit and the trainer get the same warm-up, so that neither pays for the other's JIT compilation.
const WARM_UP_BATCHES = 3;

/**
 * Random 28×28 digits in memory: the trainer's speed without disk, decoding or random-number
 * generation (each batch is a slice of one random batch, as `fit`'s input is made up front).
 */
function syntheticMnist(length: number): Dataset {
  const labels = Int32Array.from({ length }, (_, i) => i % 10);
  const images = tf.randomNormal([BATCH, 28, 28, 1]) as tf.Tensor4D;
  return {
    length,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    inputShape: [28, 28, 1],
    mean: [0.1307],
    std: [0.3081],
    labels: () => labels,
    batch: async (indices): Promise<Batch> => ({
      x: tf.slice(images, 0, indices.length),
      y: tf.tensor1d(Array.from(indices, (i) => labels[i]!), 'int32'),
    }),
  };
}

async function timeFit(steps: number): Promise<number> {
  const model = compiled(mobileNetV2Mnist({ seed: 0 }));
  const x = tf.randomNormal([BATCH * steps, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH * steps }, (_, i) => i % 10), 'int32'), 10).toFloat();
  const warm = [x.slice(0, BATCH * WARM_UP_BATCHES), y.slice(0, BATCH * WARM_UP_BATCHES)] as const;
  await model.fit(warm[0], warm[1], { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
  const start = performance.now();
  await model.fit(x, y, { batchSize: BATCH, epochs: 1, shuffle: false, verbose: 0 });
  const seconds = (performance.now() - start) / 1000;
  tf.dispose([x, y, ...warm]);
  model.dispose();
  return (BATCH * steps) / seconds;
}

async function timeTrainer(steps: number): Promise<number> {
  const model = mobileNetV2Mnist({ seed: 0 });
  await train(model, syntheticMnist(BATCH * WARM_UP_BATCHES), { epochs: 1, batchSize: BATCH, plots: false, seed: 0 });
  const result = await train(model, syntheticMnist(BATCH * steps), { epochs: 1, batchSize: BATCH, plots: false, seed: 0 });
  model.dispose();
  return result.trainImagesPerSec;
}

/**
 * Inference on one thread: `model.predict` (stock layers, what a caller of TF.js's own API gets)
 * or, with `folded`, the library's inference plan (BatchNorm folded into the convs), which
 * `evaluate`, `predictBatches` and `classifyImages` run.
 */
async function timeInference(model: tf.LayersModel, input: tf.Tensor, steps: number, folded = false): Promise<number> {
  const plan = folded ? inferencePlan(model) : null;
  // One batch of input.shape[0] (predict would otherwise split it into batches of 32), as PyTorch's side does.
  const run = () => tf.tidy(() => (plan ? plan.predict(input) : model.predict(input, { batchSize: input.shape[0] }) as tf.Tensor).dataSync());
  run();
  run();
  const start = performance.now();
  for (let i = 0; i < steps; i++) run();
  const seconds = (performance.now() - start) / 1000;
  plan?.dispose();
  return (input.shape[0]! * steps) / seconds;
}

const results = new Map<string, { fit: number; trainer: number; infer: number; inferFolded: number }>();
for (const backend of values.backends.split(',') as ('wasm' | 'cpu')[]) {
  const active = await useBackend(backend);
  const steps = Number(backend === 'cpu' ? values['cpu-steps'] : values.steps);
  const fit = await timeFit(steps);
  const trainer = await timeTrainer(steps);
  const mnist = mobileNetV2Mnist({ seed: 0 });
  const x = tf.randomNormal([BATCH, 28, 28, 1]);
  const infer = await timeInference(mnist, x, steps * 2);
  const inferFolded = await timeInference(mnist, x, steps * 2, true);
  tf.dispose(x);
  mnist.dispose();
  results.set(backend, { fit, trainer, infer, inferFolded });
  emit({
    backend: active, model: 'mnist', batch: BATCH, trainImagesPerSecFit: +fit.toFixed(1),
    trainImagesPerSecTrainer: +trainer.toFixed(1), inferImagesPerSec: +infer.toFixed(1), inferImagesPerSecFolded: +inferFolded.toFixed(1),
    peakRssMB: peakRssMB(),
  });
  if (values.imagenet.split(',').includes(backend)) {
    const imagenet = mobileNetV2({ seed: 0 });
    const input = tf.randomNormal([8, 224, 224, 3]);
    const ips = await timeInference(imagenet, input, 3);
    const folded = await timeInference(imagenet, input, 3, true);
    tf.dispose(input);
    imagenet.dispose();
    emit({
      backend: active, model: 'imagenet-224-alpha1', batch: 8, inferImagesPerSec: +ips.toFixed(1), inferImagesPerSecFolded: +folded.toFixed(1),
      peakRssMB: peakRssMB(),
    });
  }
}

const script = fileURLToPath(new URL('../scripts/torch_bench.py', import.meta.url));
const hasTorch = !values['no-torch'] && spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision']).status === 0;
if (hasTorch) {
  const run = spawnSync('/usr/bin/python3', [script, '--batch', String(BATCH)], {
    env: { ...process.env, OMP_NUM_THREADS: values['torch-threads'] },
    encoding: 'utf8',
  });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  const torch = JSON.parse(line) as { trainImagesPerSec: number; inferImagesPerSec: number };
  emit({ ...torch, model: 'mnist' });
  for (const [backend, r] of results) {
    emit({
      ratioTo: 'pytorch', backend, trainFit: +(r.fit / torch.trainImagesPerSec).toFixed(2),
      trainTrainer: +(r.trainer / torch.trainImagesPerSec).toFixed(2), infer: +(r.infer / torch.inferImagesPerSec).toFixed(2),
      inferFolded: +(r.inferFolded / torch.inferImagesPerSec).toFixed(2),
    });
  }
} else {
  emit({ pytorch: 'skipped', reason: !values['no-torch'] ? 'no torch and torchvision for /usr/bin/python3' : '--no-torch' });
}

if (!values['no-inference']) runInferenceBench({ torch: hasTorch, torchThreads: Number(values['torch-threads']) });
