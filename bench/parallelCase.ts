/**
 * One configuration of the `--workers` benchmark, in a process of its own so that its peak RSS
 * is its own: `tsx bench/parallelCase.ts --model imagenet --alpha 1 --size 224 --batch 16 --mode train --workers 2`.
 * Prints one JSON line. Training goes through `train()` on random data (Adam, the trainer's
 * step), timed from the end of the warm-up steps. Inference is `evaluate()` on TF.js over `--images`
 * twice: `imgPerSec` includes starting the workers (what one `evaluate` or `predict` call pays),
 * `warmImgPerSec` is the throughput of workers already running (what a long job or a server that
 * keeps its pool gets, and what PyTorch's figure measures), with `startSeconds` their start-up.
 */
import { parseArgs } from 'node:util';
import { tf, useBackend } from '../src/index.js';
import type { Batch, Dataset } from '../src/data/dataset.js';
import { InferencePool } from '../src/parallel/inference.js';
import { runLanes } from '../src/parallel/lanes.js';
import { inferencePlan } from '../src/predict/inferencePlan.js';
import { benchImageShape, benchModel } from './benchModel.js';
import { evaluate } from '../src/training/evaluate.js';
import { train } from '../src/training/trainer.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'imagenet' },
    alpha: { type: 'string', default: '1' },
    size: { type: 'string', default: '224' },
    batch: { type: 'string', default: '16' },
    mode: { type: 'string', default: 'train' },
    workers: { type: 'string', default: '1' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    images: { type: 'string', default: '0' },
  },
});

// The seed MNIST model has its own size (28 × 28 × 1).
const modelSize = values.model === 'mnist' ? null : Number(values.size);
const imageShape = benchImageShape(modelSize);
const [size] = imageShape;
const batch = Number(values.batch);
const channels = imageShape[2];
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const workers = Number(values.workers);

/**
 * `length` random images, made once: every batch is a slice of the same random tensor, as
 * PyTorch's side reuses one batch, so neither side times its random-number generator (TF.js's
 * randomNormal is JavaScript, ~15% of a step at 96 px).
 */
function randomImages(length: number): Dataset {
  const labels = Int32Array.from({ length }, (_, i) => i % 10);
  const images = tf.randomNormal([batch, size, size, channels]) as tf.Tensor4D;
  return {
    length, classNames: Array.from({ length: 10 }, (_, i) => String(i)), inputShape: [size, size, channels],
    mean: Array(channels).fill(0), std: Array(channels).fill(1), labels: () => labels,
    batch: async (indices): Promise<Batch> => ({
      x: tf.slice(images, 0, indices.length),
      y: tf.tensor1d(Array.from(indices, (i) => labels[i]!), 'int32'),
    }),
  };
}

await useBackend('wasm');
const model = benchModel(modelSize, Number(values.alpha));
let imgPerSec: number;
let warm: { warmImgPerSec: number; startSeconds: number } | object = {};
if (values.mode === 'train') {
  const times: number[] = [];
  await train(model, randomImages((warmup + steps) * batch), {
    epochs: 1, batchSize: batch, seed: 1, shuffle: false, workers,
    callbacks: { onBatchEnd: () => void times.push(performance.now()) },
  });
  imgPerSec = (steps * batch) / ((times[warmup + steps - 1]! - times[warmup - 1]!) / 1000);
} else {
  const images = Number(values.images) || steps * batch;
  const data = randomImages(images);
  // engine 'tfjs': this case measures TF.js workers ('auto' would pick onnxruntime, where workers do not apply).
  await evaluate(model, randomImages(batch), { batchSize: batch, engine: 'tfjs' });
  const started = performance.now();
  // Worker start-up (model copies) is part of the time: that is what a caller pays.
  await evaluate(model, data, { batchSize: batch, workers, engine: 'tfjs' });
  imgPerSec = images / ((performance.now() - started) / 1000);
  if (workers > 1) {
    const startedPool = performance.now();
    const pool = await InferencePool.start(model, workers);
    const startSeconds = (performance.now() - startedPool) / 1000;
    const one = tf.randomNormal([batch, size, size, channels]);
    const batches = Array.from({ length: Math.ceil(images / batch) }, (_, i) => tf.slice(one, 0, Math.min(batch, images - i * batch)));
    one.dispose();
    // Each replica's first batch builds its operators. Then this thread and the workers take
    // batches as they come free, as evaluate's loop does once the workers are up.
    const plan = inferencePlan(model);
    await Promise.all(Array.from({ length: workers - 1 }, (_, w) => pool.runOn(w, batches[0]!))).then(tf.dispose);
    const t0 = performance.now();
    await runLanes({
      count: batches.length, load: async (i) => batches[i]!, input: (x) => x, use: () => {}, release: () => {},
    }, { runLocal: (x) => plan.predict(x), ranks: workers, startPool: () => ({ ready: Promise.resolve(pool), stop: async () => {} }) });
    warm = { warmImgPerSec: +(images / ((performance.now() - t0) / 1000)).toFixed(2), startSeconds: +startSeconds.toFixed(2) };
    await pool.close();
    plan.dispose();
    tf.dispose(batches);
  } else {
    warm = { warmImgPerSec: +imgPerSec.toFixed(2) };
  }
}
console.log(JSON.stringify({
  impl: 'ours', model: values.model, alpha: Number(values.alpha), size, batch, mode: values.mode, workers,
  imgPerSec: +imgPerSec.toFixed(2), ...warm, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
}));
