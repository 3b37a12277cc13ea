/**
 * What quantized weights cost:
 * `npx tsx bench/quantization.ts --mnist DIR [--folder-model DIR [--folder DATA] [--val-split F]] [--fixtures]`.
 *
 * For each saved model, writes float16 and uint8 copies with exportTfjs, loads each with stock
 * `tf.loadLayersModel` and reports, against the float32 model on the same images:
 *
 * - weight bytes on disk (and model.json bytes);
 * - top-1 accuracy and its change in points;
 * - the largest logit difference, absolute and relative to the largest float32 logit;
 * - top-1 agreement with float32.
 *
 * The MNIST model (a `train-mnist` run) is scored on the 10,000 test images; a fine-tuned folder
 * model on its validation split, rebuilt from its metadata (`dataset`, `seed`) and `--val-split`
 * (default 0.1, finetune's default). Besides the two shipped settings, `uint8, every weight`
 * puts BatchNorm's moving statistics in uint8 too, and `uint8, all BatchNorm vectors float16`
 * keeps gamma and beta in float16 as well. A second table puts one kind of weight at a time in
 * uint8 (the rest float32) on 500 images, and `--fixtures` adds the PyTorch parity fixtures,
 * whose BatchNorm statistics span orders of magnitude: the evidence for `UINT8_FLOAT16_WEIGHTS`.
 * The worst change of a BatchNorm scale 1/√(variance + ε) under uint8 and float16 is logged too.
 *
 * Prints one JSON line per row, then Markdown tables for the README.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Dataset } from '../src/data/dataset.js';
import { imageFolder } from '../src/data/imageFolder.js';
import { loadMnist } from '../src/data/mnist.js';
import { stratifiedSplit } from '../src/data/split.js';
import { subset } from '../src/data/subset.js';
import { exportTfjs, type ExportTfjsOptions } from '../src/export/tfjs.js';
import { useBackend } from '../src/backend/useBackend.js';
import { loadModel } from '../src/io/fileSystem.js';
import { loadTorchWeights } from '../src/weights/loadTorchWeights.js';
import { buildFixtureModel, fixturePath, fixtures } from '../test/fixtures/fixtures.js';
import { encodeFloat16 } from '../src/io/float16.js';
import { quantizeUint8 } from '../src/io/uint8.js';
import { tf } from '../src/tf.js';
import { readModelMetadata } from '../src/training/metadata.js';

const { values } = parseArgs({
  options: {
    mnist: { type: 'string' },
    'folder-model': { type: 'string' },
    folder: { type: 'string' },
    'val-split': { type: 'string', default: '0.1' },
    // The PyTorch parity fixtures: random weights with near-dead channels (variance ~4e-4 beside ~1).
    fixtures: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'wasm' },
  },
});

const VARIANTS: { name: string; options: ExportTfjsOptions }[] = [
  { name: 'float16', options: { quantize: 'float16' } },
  { name: 'uint8 (default: BatchNorm statistics float16)', options: { quantize: 'uint8' } },
  { name: 'uint8, every weight', options: { quantize: 'uint8', float16Weights: [] } },
  { name: 'uint8, all BatchNorm vectors float16', options: { quantize: 'uint8', float16Weights: ['*/gamma', '*/beta', '*/moving_mean', '*/moving_variance'] } },
];

interface Scores {
  logits: Float32Array;
  accuracy: number;
}

async function score(model: tf.LayersModel, data: Dataset, batchSize = 250): Promise<Scores> {
  const labels = data.labels();
  const classes = data.classNames.length;
  const logits = new Float32Array(data.length * classes);
  let correct = 0;
  for (let start = 0; start < data.length; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, data.length - start) }, (_, i) => start + i);
    const { x, y } = await data.batch(indices);
    const out = model.predict(x) as tf.Tensor;
    const values = (await out.data()) as Float32Array;
    tf.dispose([x, y, out]);
    logits.set(values, start * classes);
    indices.forEach((index, row) => {
      let best = 0;
      for (let c = 1; c < classes; c++) if (values[row * classes + c] > values[row * classes + best]) best = c;
      if (best === labels[index]) correct++;
    });
  }
  return { logits, accuracy: correct / data.length };
}

function top1(logits: Float32Array, classes: number, row: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (logits[row * classes + c] > logits[row * classes + best]) best = c;
  return best;
}

/**
 * How far uint8 and float16 storage move BatchNorm's per-channel scale 1/√(variance + ε): the
 * largest factor over all channels of all moving variances (1 = unchanged).
 */
function varianceScaleError(model: tf.LayersModel): { uint8: number; float16: number } {
  const worst = { uint8: 1, float16: 1 };
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const epsilon = (layer.getConfig() as { epsilon: number }).epsilon;
    const variable = layer.weights.find((w) => w.originalName.endsWith('/moving_variance'))!;
    const values = variable.read().dataSync() as Float32Array;
    const q = quantizeUint8(values, variable.originalName);
    const spec: tf.io.WeightsManifestEntry = { name: 'h', shape: [values.length], dtype: 'float32', quantization: { dtype: 'float16' } };
    const decoded = tf.io.decodeWeights(encodeFloat16(values, variable.originalName).buffer as ArrayBuffer, [spec]).h;
    const halves = decoded.dataSync();
    decoded.dispose();
    values.forEach((v, i) => {
      const factor = (approx: number) => Math.max(Math.sqrt((v + epsilon) / (approx + epsilon)), Math.sqrt((approx + epsilon) / (v + epsilon)));
      worst.uint8 = Math.max(worst.uint8, factor(q.data[i] * q.scale + q.min));
      worst.float16 = Math.max(worst.float16, factor(halves[i]));
    });
  }
  return worst;
}

const GROUPS = ['kernel', 'depthwise_kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance'] as const;

/**
 * Each weight kind alone in uint8 (the rest float32), on `x`: the largest logit change relative
 * to the largest float32 logit, and top-1 agreement. Which kinds uint8 hurts, one at a time.
 */
function isolatedErrors(model: tf.LayersModel, x: tf.Tensor): Record<string, { rel: number; agree: number }> {
  const predict = () => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
  const reference = predict();
  const classes = reference.length / x.shape[0];
  const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const out: Record<string, { rel: number; agree: number }> = {};
  for (const group of GROUPS) {
    const chosen = model.weights.filter((w) => w.originalName.split('/').at(-1) === group);
    if (chosen.length === 0) continue;
    const saved = chosen.map((w) => w.read().clone());
    for (const w of chosen) {
      const q = quantizeUint8(w.read().dataSync() as Float32Array, w.originalName);
      const t = tf.tensor(Float32Array.from(q.data, (level) => level * q.scale + q.min), w.shape as number[]);
      w.write(t);
      t.dispose();
    }
    const got = predict();
    chosen.forEach((w, i) => w.write(saved[i]));
    tf.dispose(saved);
    let diff = 0;
    for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - reference[i]));
    let agree = 0;
    for (let row = 0; row < x.shape[0]; row++) if (top1(got, classes, row) === top1(reference, classes, row)) agree++;
    out[group] = { rel: diff / scale, agree: agree / x.shape[0] };
  }
  return out;
}

const isolatedRows: string[] = [];
function recordIsolated(label: string, errors: Record<string, { rel: number; agree: number }>): void {
  console.log(JSON.stringify({ model: label, uint8Alone: errors }));
  isolatedRows.push(`| ${label} | ${GROUPS.map((g) => (errors[g] ? `${(100 * errors[g].rel).toFixed(2)}% / ${(100 * errors[g].agree).toFixed(1)}%` : '–')).join(' | ')} |`);
}

async function report(label: string, dir: string, data: Dataset): Promise<string[]> {
  const classes = data.classNames.length;
  const float32 = await loadModel(dir);
  const reference = await score(float32, data);
  const bnScale = varianceScaleError(float32);
  console.log(JSON.stringify({ model: label, worstBatchNormScaleFactor: bnScale }));
  const sample = await data.batch(Array.from({ length: Math.min(500, data.length) }, (_, i) => i));
  recordIsolated(label, isolatedErrors(float32, sample.x));
  tf.dispose([sample.x, sample.y]);
  float32.dispose();
  const scratch = await mkdtemp(path.join(tmpdir(), 'quant-bench-'));
  const plain = await exportTfjs(dir, path.join(scratch, 'float32'));
  const rows = [{
    model: label, weights: 'float32', weightBytes: plain.weightBytes, ratio: 1, modelJsonBytes: plain.modelJsonBytes,
    accuracy: reference.accuracy, deltaPoints: 0, maxLogitDiff: 0, relLogitDiff: 0, top1Agreement: 1,
  }];
  const maxLogit = reference.logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (const variant of VARIANTS) {
    const out = path.join(scratch, variant.name.replace(/\W+/g, '-'));
    const written = await exportTfjs(dir, out, variant.options);
    const model = await loadModel(out);
    const scores = await score(model, data);
    model.dispose();
    let maxDiff = 0;
    for (let i = 0; i < scores.logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(scores.logits[i] - reference.logits[i]));
    let agree = 0;
    for (let row = 0; row < data.length; row++) if (top1(scores.logits, classes, row) === top1(reference.logits, classes, row)) agree++;
    rows.push({
      model: label, weights: variant.name, weightBytes: written.weightBytes, ratio: written.weightBytes / plain.weightBytes,
      modelJsonBytes: written.modelJsonBytes, accuracy: scores.accuracy, deltaPoints: 100 * (scores.accuracy - reference.accuracy),
      maxLogitDiff: maxDiff, relLogitDiff: maxDiff / maxLogit, top1Agreement: agree / data.length,
    });
  }
  await rm(scratch, { recursive: true, force: true });
  for (const row of rows) console.log(JSON.stringify(row));
  return rows.map((r) =>
    `| ${r.model} | ${r.weights} | ${(r.weightBytes / 1024).toFixed(0)} KiB (${(100 * r.ratio).toFixed(1)}%) | ${(100 * r.accuracy).toFixed(2)}% | `
    + `${r.deltaPoints >= 0 ? '+' : ''}${r.deltaPoints.toFixed(2)} | ${r.maxLogitDiff.toPrecision(2)} (${(100 * r.relLogitDiff).toFixed(2)}%) | ${(100 * r.top1Agreement).toFixed(2)}% |`);
}

await useBackend(values.backend as 'wasm' | 'cpu');
const table: string[] = [];
if (values.mnist) {
  const test = await loadMnist({ split: 'test' });
  table.push(...await report(`MNIST (${path.basename(values.mnist)}), 10,000 test images`, values.mnist, test));
}
if (values['folder-model']) {
  const dir = values['folder-model'];
  const probe = await loadModel(dir);
  const meta = readModelMetadata(probe, dir);
  probe.dispose();
  const folderDir = values.folder ?? (meta.dataset as string | undefined);
  if (folderDir === undefined) throw new Error(`${dir}: no dataset in its metadata; pass --folder DIR`);
  const folder = await imageFolder(folderDir, { inputShape: meta.inputShape, mean: meta.mean, std: meta.std, resize: meta.resize, cache: 'memory' });
  const split = stratifiedSplit(folder.labels(), Number(values['val-split']), meta.seed as number);
  const [h, w, c] = meta.inputShape;
  table.push(...await report(`folder ${h}×${w}×${c} (${path.basename(dir)}), ${split.val.length} validation images`, dir, subset(folder, split.val)));
}
if (values.fixtures) {
  for (const f of fixtures.filter((fx) => fx.model === 'torchvision')) {
    const model = buildFixtureModel(f);
    await loadTorchWeights(model, fixturePath(f.weights));
    const x = tf.randomNormal([64, ...f.inputShape], 0, 1, 'float32', 1);
    console.log(JSON.stringify({ model: f.name, worstBatchNormScaleFactor: varianceScaleError(model) }));
    recordIsolated(`fixture ${f.name} (64 random inputs)`, isolatedErrors(model, x));
    x.dispose();
    model.dispose();
  }
}
console.log(['', '| model | weights | weight file | top-1 | Δ points | max \\|Δ logit\\| (of max \\|logit\\|) | top-1 agreement |', '|---|---|---|---|---|---|---|', ...table].join('\n'));
console.log(['', `| uint8 alone: max \\|Δ logit\\| / top-1 agreement | ${GROUPS.join(' | ')} |`, `|---|${GROUPS.map(() => '---').join('|')}|`, ...isolatedRows].join('\n'));
