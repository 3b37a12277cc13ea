/**
 * Where a data-parallel training step's time goes: `npx tsx bench/profileParallel.ts
 * [--workers 2 --batch 64 --steps 30 --warmup 5] [--size 96 --alpha 0.35]`. Runs the seed MNIST
 * model's (or, with `--size`, the 3-channel ImageNet MobileNetV2's at that size) {@link ReplicaPool}
 * directly on pre-made random batches (Adam) and prints, as mean milliseconds per step, rank 0's
 * phases (reading and posting the shards, its own forward/backward, writing its gradient, waiting
 * for the workers, combining, applying) and each worker's (waiting for its shard, forward/backward,
 * writing, applying, and how long its reply took to arrive). For reference it times the
 * single-thread step (forward/backward and apply) at the full batch and at one shard's rows.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { tf, useBackend } from '../src/index.js';
import { ReplicaPool } from '../src/parallel/pool.js';
import { createOptimizer, setLearningRate } from '../src/training/optimizer.js';
import { trainingStep } from '../src/training/step.js';
import { benchImageShape, benchModel } from './benchModel.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    size: { type: 'string' },
    alpha: { type: 'string', default: '1' },
    // Only the single-thread reference at one shard's rows: run two at once in separate
    // processes to see how much two busy threads slow each other on this machine.
    'single-only': { type: 'boolean', default: false },
  },
});
const ranks = Number(values.workers);
const batchSize = Number(values.batch);
const steps = Number(values.steps);
const warmup = Number(values.warmup);

const size = values.size === undefined ? null : Number(values.size);
const buildModel = () => benchModel(size, Number(values.alpha));

await useBackend('wasm');
const makeBatch = (n: number) => ({
  x: tf.randomNormal([n, ...benchImageShape(size)]) as tf.Tensor4D,
  y: tf.tensor1d(Array.from({ length: n }, (_, i) => i % 10), 'int32') as tf.Tensor1D,
});
const mean = (xs: number[]) => +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2);

/** Single-thread step at `n` rows: forward/backward (loss read) and apply, ms per step. */
function singleThread(n: number): Record<string, number> {
  const model = buildModel();
  const optimizer = createOptimizer('adam');
  const batch = makeBatch(n);
  const fb: number[] = [];
  const apply: number[] = [];
  let faults = 0;
  let cpu = 0;
  for (let s = 0; s < warmup + steps; s++) {
    if (s === warmup) {
      faults = process.resourceUsage().minorPageFault;
      cpu = process.cpuUsage().system;
    }
    const t0 = performance.now();
    const result = trainingStep(model, batch.x, batch.y);
    result.loss.dataSync();
    const t1 = performance.now();
    setLearningRate(optimizer, 1e-3);
    optimizer.applyGradients(result.grads);
    result.dispose();
    const t2 = performance.now();
    if (s >= warmup) {
      fb.push(t1 - t0);
      apply.push(t2 - t1);
    }
  }
  tf.dispose([batch.x, batch.y]);
  optimizer.dispose();
  model.dispose();
  // Minor page faults and kernel time per step: fresh wasm/V8 memory touched each step costs
  // kernel work, which two busy threads contend on where pure arithmetic does not.
  const faultsPerStep = Math.round((process.resourceUsage().minorPageFault - faults) / steps);
  const systemMsPerStep = +((process.cpuUsage().system - cpu) / 1000 / steps).toFixed(2);
  return { rows: n, faultsPerStep, systemMsPerStep, forwardBackward: mean(fb), apply: mean(apply), step: +(mean(fb) + mean(apply)).toFixed(2), imgPerSec: Math.round(n / ((mean(fb) + mean(apply)) / 1000)) };
}

if (values['single-only']) {
  console.log(JSON.stringify({ singleThread: singleThread(Math.ceil(batchSize / ranks)), loadAvg1m: +loadavg()[0]!.toFixed(2) }));
  process.exit(0);
}
console.log(JSON.stringify({ singleThread: singleThread(batchSize), loadAvg1m: +loadavg()[0]!.toFixed(2) }));
console.log(JSON.stringify({ singleThread: singleThread(Math.ceil(batchSize / ranks)), loadAvg1m: +loadavg()[0]!.toFixed(2) }));

const model = buildModel();
const optimizer = createOptimizer('adam');
const pool = await ReplicaPool.start(model, optimizer, { ranks, optimizer: 'adam', labelSmoothing: 0, freezeBatchNormStats: true });
const batches = Array.from({ length: 4 }, () => makeBatch(batchSize));
const rank0: Record<string, number[]> = { post: [], forwardBackward: [], write: [], waitWorkers: [], combine: [], apply: [], step: [] };
const workers: Record<string, number[]>[] = Array.from({ length: ranks - 1 }, () => ({ waitShard: [], forwardBackward: [], write: [], replyLatency: [], apply: [] }));
let previousEnd = 0;
const started: number[] = [];
for (let s = 0; s < warmup + steps; s++) {
  const batch = batches[s % batches.length]!;
  const result = await pool.forwardBackward(batch, `step ${s + 1}`);
  const t = result.timing;
  const a0 = performance.timeOrigin + performance.now();
  pool.apply(1e-3);
  const end = performance.timeOrigin + performance.now();
  started.push(t.started);
  if (s >= warmup) {
    rank0.post!.push(t.posted - t.started);
    rank0.forwardBackward!.push(t.computed - t.posted);
    rank0.write!.push(t.written - t.computed);
    rank0.waitWorkers!.push(t.replied - t.written);
    rank0.combine!.push(t.combined - t.replied);
    rank0.apply!.push(end - a0);
    rank0.step!.push(end - t.started);
    result.workerTimings.forEach((w, i) => {
      const m = workers[i]!;
      // The worker's previous apply ended when it took this step's message, unless it idled.
      m.waitShard!.push(w.received - Math.max(t.posted, previousEnd));
      m.forwardBackward!.push(w.computed - w.received);
      m.write!.push(w.written - w.computed);
      m.replyLatency!.push(t.replied - w.written);
      m.apply!.push(w.applyMs);
    });
  }
  previousEnd = end;
}
const stepMs = (started[started.length - 1]! - started[warmup]!) / (steps - 1);
const summary = (m: Record<string, number[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, mean(v)]));
console.log(JSON.stringify({ ranks, batch: batchSize, stepMs: +stepMs.toFixed(2), imgPerSec: Math.round(batchSize / (stepMs / 1000)), rank0: summary(rank0), loadAvg1m: +loadavg()[0]!.toFixed(2) }));
workers.forEach((m, i) => console.log(JSON.stringify({ worker: i + 1, ...summary(m) })));
await pool.close();
