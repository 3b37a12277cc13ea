/**
 * Independent check of a fine-tuned model: loads DIR/model.json with stock TF.js (the wasm
 * backend, none of this library's kernels or code paths except the file-system IOHandler),
 * decodes a held-out image folder with sharp directly, normalizes it with the classNames, mean
 * and std the model records, and prints the accuracy.
 *
 *   npx tsx scripts/check-finetune.ts --model runs/digits --data data/digits-heldout
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import sharp from 'sharp';
import { fileSystem } from '../src/io/fileSystem.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, data: { type: 'string' } } });
if (!values.model || !values.data) {
  process.stderr.write('usage: npx tsx scripts/check-finetune.ts --model DIR --data FOLDER\n');
  process.exit(2);
}
await tf.setBackend('wasm');
const model = await tf.loadLayersModel(fileSystem(values.model));
const meta = model.getUserDefinedMetadata() as { classNames: string[]; mean: number[]; std: number[]; inputShape: [number, number, number] };
const [h, w, c] = meta.inputShape;
let correct = 0;
let count = 0;
const perClass: Record<string, [number, number]> = {};
for (const className of (await fs.readdir(values.data)).sort()) {
  const label = meta.classNames.indexOf(className);
  if (label < 0) throw new Error(`class folder ${className} is not one of the model's classes ${meta.classNames.join(', ')}`);
  for (const name of (await fs.readdir(path.join(values.data, className))).sort()) {
    let image = sharp(path.join(values.data, className, name)).resize(w, h, { fit: 'cover' }).flatten({ background: '#000' });
    image = c === 1 ? image.grayscale() : image.toColourspace('srgb');
    const { data } = await image.raw().toBuffer({ resolveWithObject: true });
    const x = new Float32Array(h * w * c);
    for (let i = 0; i < x.length; i++) x[i] = (data[i] / 255 - meta.mean[i % c]) / meta.std[i % c];
    const predicted = tf.tidy(() => (model.predict(tf.tensor4d(x, [1, h, w, c])) as tf.Tensor).argMax(-1).dataSync()[0]);
    const hit = predicted === label ? 1 : 0;
    correct += hit;
    count++;
    perClass[className] = [(perClass[className]?.[0] ?? 0) + hit, (perClass[className]?.[1] ?? 0) + 1];
  }
}
process.stdout.write(`${JSON.stringify({ accuracy: correct / count, correct, count, perClass, model: values.model, data: values.data })}\n`);
