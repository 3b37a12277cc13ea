/**
 * One configuration of the `--workers` benchmark, in a process of its own so that its peak RSS
 * is its own: `tsx bench/parallelCase.ts --model imagenet --alpha 1 --size 224 --batch 16 --mode train --workers 2`.
 * Prints one JSON line. Training goes through `train()` on random data (Adam, the trainer's
 * step), timed from the end of the warm-up steps; inference is `evaluate()` over `--images`,
 * worker start-up included.
 */
import { parseArgs } from 'node:util';
import { mobileNetV2, mobileNetV2Mnist, tf, useBackend } from '../src/index.js';
import type { Batch, Dataset } from '../src/data/dataset.js';
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

const size = Number(values.size);
const batch = Number(values.batch);
const channels = values.model === 'mnist' ? 1 : 3;
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const workers = Number(values.workers);

function randomImages(length: number): Dataset {
  const labels = Int32Array.from({ length }, (_, i) => i % 10);
  return {
    length, classNames: Array.from({ length: 10 }, (_, i) => String(i)), inputShape: [size, size, channels],
    mean: Array(channels).fill(0), std: Array(channels).fill(1), labels: () => labels,
    batch: async (indices): Promise<Batch> => ({
      x: tf.randomNormal([indices.length, size, size, channels]) as tf.Tensor4D,
      y: tf.tensor1d(Array.from(indices, (i) => labels[i]!), 'int32'),
    }),
  };
}

await useBackend('wasm');
const model = values.model === 'mnist'
  ? mobileNetV2Mnist({ alpha: Number(values.alpha), seed: 0 })
  : mobileNetV2({ alpha: Number(values.alpha), inputShape: [size, size, 3], numClasses: 10, seed: 0 });
let imgPerSec: number;
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
  await evaluate(model, randomImages(batch), { batchSize: batch });
  const started = performance.now();
  // Worker start-up (model copies) is part of the time: that is what a caller pays.
  await evaluate(model, data, { batchSize: batch, workers });
  imgPerSec = images / ((performance.now() - started) / 1000);
}
console.log(JSON.stringify({
  impl: 'ours', model: values.model, alpha: Number(values.alpha), size, batch, mode: values.mode, workers,
  imgPerSec: +imgPerSec.toFixed(2), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
}));
