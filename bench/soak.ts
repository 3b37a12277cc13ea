/**
 * Long-run soak: `npm run bench:soak [-- --train-steps 20000 --infer-calls 100000 --backend wasm]`.
 *
 * Trains the seed MNIST model (MobileNetV2 α=1, Adam 1e-3, batch 64) with this library's trainer
 * for `--train-steps` steps (rounded up to epochs of 100; 0 skips training), then saves it and runs `--infer-calls`
 * calls of `classifyImages` on one PNG each, on `--engine` (default 'auto': onnxruntime when installed;
 * with 'tfjs' every call builds and disposes its inference plan).
 * Every `--sample-every` steps or calls it records `tf.memory().numTensors` and `numBytes`, the
 * wasm heap and the RSS (after a forced GC). After the warm-up (`--warmup`, a fraction of each
 * phase) the tensors and the wasm heap must stay flat and the RSS grow less than
 * `--max-rss-growth` (5%, along the least-squares trend of its samples): it prints a verdict per
 * phase and exits 1 on a FAIL. `--json` adds one JSON line with every sample; `--judge FILE`
 * gives the verdicts on such a line again, without running.
 *
 * Run it with node's --expose-gc (the npm script does), so that RSS samples are not GC noise.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { classifyImages, embeddedMnistDir, fileSystem, loadClassifier, loadMnist, readIdx, tf, useBackend } from '../src/index.js';
import { datasetMetadata } from '../src/training/metadata.js';
import { train } from '../src/training/trainer.js';
import { benchModel } from './benchModel.js';

const { values } = parseArgs({
  options: {
    'train-steps': { type: 'string', default: '20000' },
    'infer-calls': { type: 'string', default: '100000' },
    'batch-size': { type: 'string', default: '64' },
    'sample-every': { type: 'string', default: '500' },
    warmup: { type: 'string', default: '0.1' },
    'max-rss-growth': { type: 'string', default: '0.05' },
    backend: { type: 'string', default: 'wasm' },
    engine: { type: 'string', default: 'auto' },
    json: { type: 'boolean', default: false },
    judge: { type: 'string' },
  },
});

const trainSteps = Number(values['train-steps']);
const inferCalls = Number(values['infer-calls']);
const batchSize = Number(values['batch-size']);
const sampleEvery = Number(values['sample-every']);
const warmup = Number(values.warmup);
const maxRssGrowth = Number(values['max-rss-growth']);

interface Sample { at: number; numTensors: number; numBytes: number; heapBytes: number; rssBytes: number; seconds: number }

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn('soak: run with node --expose-gc (npm run bench:soak does) for RSS samples without GC noise');

function heapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return backend.wasm?.HEAPU8.length ?? 0;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

const started = performance.now();
/** One sample, also written to stderr as it is taken, so that a long run shows where it is. */
function sample(phase: string, at: number): Sample {
  gc?.();
  const { numTensors, numBytes } = tf.memory();
  const s = { at, numTensors, numBytes, heapBytes: heapBytes(), rssBytes: process.memoryUsage().rss, seconds: (performance.now() - started) / 1000 };
  process.stderr.write(`${phase} ${at}: ${s.seconds.toFixed(0)} s, numTensors ${numTensors}, wasm heap ${mb(s.heapBytes)}, RSS ${mb(s.rssBytes)}\n`);
  return s;
}
/** Least-squares line through (x, y): its values at the first and last x. */
function trend(xs: number[], ys: number[]): [number, number] {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const slope = sxx === 0 ? 0 : xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / sxx;
  return [my + slope * (xs[0]! - mx), my + slope * (xs.at(-1)! - mx)];
}

/**
 * The verdict on one phase's samples after its warm-up: the same numTensors and tensor bytes in
 * every sample, no wasm heap growth, and RSS (noisy: V8 and malloc return memory in bursts)
 * growing less than `maxRssGrowth` along its least-squares trend.
 */
function judge(phase: string, unit: string, total: number, samples: Sample[]): boolean {
  const steady = samples.filter((s) => s.at >= warmup * total);
  if (steady.length < 3) {
    console.log(`${phase}: too few samples after the warm-up (${steady.length}); lower --sample-every`);
    return false;
  }
  const [rssStart, rssEnd] = trend(steady.map((s) => s.at), steady.map((s) => s.rssBytes));
  const growth = (rssEnd - rssStart) / rssStart;
  const rss = steady.map((s) => s.rssBytes);
  const tensors = new Set(steady.map((s) => s.numTensors));
  const bytes = new Set(steady.map((s) => s.numBytes));
  const first = steady[0]!;
  const last = steady.at(-1)!;
  const half = steady.filter((s) => s.at >= (first.at + last.at) / 2)[0]!;
  const heapGrowth = last.heapBytes - first.heapBytes;
  const checks = {
    tensors: tensors.size === 1 && bytes.size === 1,
    heap: heapGrowth === 0,
    rss: growth < maxRssGrowth,
  };
  const verdict = (ok: boolean) => (ok ? 'flat' : 'GROWS');
  console.log(`${phase}: ${total} ${unit} in ${(last.seconds - samples[0]!.seconds).toFixed(0)} s; from ${first.at} ${unit} on (after the warm-up):`);
  console.log(`  numTensors ${[...tensors].join('/')}, tensor bytes ${[...bytes].map(mb).join('/')}: ${verdict(checks.tensors)}`);
  console.log(`  wasm heap ${mb(first.heapBytes)} → ${mb(last.heapBytes)} (${mb(last.heapBytes - half.heapBytes)} of it in the second half): ${verdict(checks.heap)}`);
  console.log(`  RSS ${mb(Math.min(...rss))}–${mb(Math.max(...rss))}, trend ${mb(rssStart)} → ${mb(rssEnd)} (${(100 * growth).toFixed(2)}%, limit ${100 * maxRssGrowth}%): ${checks.rss ? 'PASS' : 'FAIL'}`);
  const pass = checks.tensors && checks.heap && checks.rss;
  console.log(`  ${pass ? 'PASS' : 'FAIL'}`);
  return pass;
}

/** --judge FILE: the verdicts on the samples of an earlier run's --json line, without running anything. */
if (values.judge) {
  const run = JSON.parse((await fs.readFile(values.judge, 'utf8')).trim().split('\n').at(-1)!) as { trainSteps: number; inferCalls: number; train: Sample[]; infer: Sample[] };
  const verdicts = [judge('train', 'steps', run.trainSteps, run.train), judge('classifyImages', 'calls', run.inferCalls, run.infer)];
  process.exit(verdicts.every(Boolean) ? 0 : 1);
}

await useBackend(values.backend as 'wasm');
const baseline = tf.memory().numTensors;

// Training: epochs of 100 steps on the first 6,400 images, sampled at epoch ends (mid-epoch,
// the next batch is already loaded: two more tensors, which are no leak).
const stepsPerEpoch = 100;
const epochs = Math.ceil(trainSteps / stepsPerEpoch);
const sampleEpochs = Math.max(1, Math.round(sampleEvery / stepsPerEpoch));
const data = await loadMnist({ split: 'train', limit: stepsPerEpoch * batchSize });
const model = benchModel(null);
const trainSamples: Sample[] = [sample('train', 0)];
// --train-steps 0 skips training (an inference-only soak on the untrained model).
if (epochs > 0) await train(model, data, {
  epochs, batchSize, learningRate: 1e-3, seed: 0,
  callbacks: {
    onEpochEnd({ epoch }) {
      if (epoch % sampleEpochs === 0 || epoch === epochs) trainSamples.push(sample('train', epoch * stepsPerEpoch));
    },
  },
});

// Inference: the trained model, saved and loaded as a user would, on PNGs of test digits.
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'soak-'));
model.setUserDefinedMetadata(datasetMetadata(data));
await model.save(fileSystem(dir));
model.dispose();
const images = await readIdx(path.join(embeddedMnistDir(), 't10k-images-idx3-ubyte'));
const files = await Promise.all(Array.from({ length: 16 }, async (_, i) => {
  const file = path.join(dir, `${i}.png`);
  await sharp(Buffer.from(images.data.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(file);
  return file;
}));
const classifier = await loadClassifier(dir, { engine: values.engine as 'auto' | 'tfjs' | 'onnxruntime' });
const inferSamples: Sample[] = [sample('classifyImages', 0)];
for (let call = 1; call <= inferCalls; call++) {
  await classifyImages(classifier, [files[call % files.length]!], { topK: 3, workers: 1 });
  if (call % sampleEvery === 0 || call === inferCalls) inferSamples.push(sample('classifyImages', call));
}
classifier.model.dispose();
await fs.rm(dir, { recursive: true, force: true });

const trained = epochs === 0 || judge('train', 'steps', epochs * stepsPerEpoch, trainSamples);
const inferred = inferCalls === 0 || judge('classifyImages', 'calls', inferCalls, inferSamples);
const leftover = tf.memory().numTensors - baseline;
console.log(`tensors left after both phases: ${leftover} — ${leftover === 0 ? 'PASS' : 'FAIL'}`);
if (values.json) console.log(JSON.stringify({ backend: tf.getBackend(), trainSteps: epochs * stepsPerEpoch, inferCalls, batchSize, train: trainSamples, infer: inferSamples, leftover }));
process.exitCode = trained && inferred && leftover === 0 ? 0 : 1;
