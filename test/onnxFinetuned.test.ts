import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageFolder } from '../scripts/make-image-folder.js';
import { imageFolder } from '../src/data/imageFolder.js';
import { stratifiedSplit } from '../src/data/split.js';
import { exportOnnx } from '../src/export/exportOnnx.js';
import { fineTuneImageFolder } from '../src/finetune/folder.js';
import { loadModel } from '../src/io/fileSystem.js';
import { classifyImages, loadClassifier } from '../src/predict/classifier.js';
import { tf } from '../src/tf.js';
import { readModelMetadata } from '../src/training/metadata.js';
import { onnxFiles, runOnnx, toNchw } from './onnx.js';

// A model fine-tuned here (from the demo's MNIST model, on typeset digits, with colour images
// among them) is exported, and
// onnxruntime picks the same class as TF.js for every validation image.
const ROOT = path.resolve(import.meta.dirname, '..');
let dir: string;
const files = onnxFiles(() => dir);

beforeAll(async () => {
  await tf.setBackend('wasm');
  dir = mkdtempSync(path.join(tmpdir(), 'onnx-finetuned-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const argmax = (values: ArrayLike<number>, rows: number) => Array.from({ length: rows }, (_, r) => {
  const k = values.length / rows;
  let best = 0;
  for (let j = 1; j < k; j++) if (values[r * k + j]! > values[r * k + best]!) best = j;
  return best;
});

describe('a fine-tuned model on onnxruntime', () => {
  it('has the same top-1 as TF.js on every validation image, exported and through the engine', async () => {
    const data = path.join(dir, 'digits');
    await makeImageFolder(data, { perClass: 16, size: 28, digits: '0123', seed: 5 });
    const out = path.join(dir, 'run');
    const seed = 2;
    const valSplit = 0.25;
    // From the demo's MNIST model (a trained start: its predictions are no single class).
    const result = await fineTuneImageFolder({ data, out, weights: path.join(ROOT, 'examples/web/model'), epochs: 2, batchSize: 8, seed, valSplit });
    expect(result.valImages).toBe(16);
    const model = await loadModel(out);
    const meta = readModelMetadata(model, out);

    // The validation images, as fineTuneImageFolder split them (same seed).
    const folder = await imageFolder(data, { inputShape: meta.inputShape, mean: meta.mean, std: meta.std });
    const { val } = stratifiedSplit(folder.labels(), valSplit, seed);
    const batch = await folder.batch(val);
    const tfjsTop = argmax(tf.tidy(() => (model.predict(batch.x) as tf.Tensor).dataSync()), val.length);
    // A model that learned something: not one class for everything.
    expect(new Set(tfjsTop).size, `top-1: ${tfjsTop}`).toBeGreaterThan(1);

    const file = files.write('finetuned.onnx', await exportOnnx(model));
    const shape = batch.x.shape;
    const onnx = await runOnnx(file, toNchw(batch.x.dataSync(), shape), [shape[0], shape[3], shape[1], shape[2]]);
    expect(argmax(onnx.data, val.length)).toEqual(tfjsTop);
    tf.dispose([batch.x, batch.y]);
    model.dispose();

    // The same through the library's engines, from the image files.
    const paths = Array.from(val, (i) => folder.files[i]!);
    const [ort, stock] = [await loadClassifier(out, { engine: 'onnxruntime' }), await loadClassifier(out, { engine: 'tfjs' })];
    const [a, b] = [await classifyImages(ort, paths, { topK: 1 }), await classifyImages(stock, paths, { topK: 1 })];
    expect(a.map((p) => p.top[0]!.index)).toEqual(b.map((p) => p.top[0]!.index));
    ort.model.dispose();
    stock.model.dispose();
  }, 240_000);
});

files.itChecksAll();
