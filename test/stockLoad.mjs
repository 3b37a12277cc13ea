// A TF.js user's program with nothing of this library: stock @tensorflow/tfjs and node:fs only.
// Loads DIR/model.json with tf.loadLayersModel through a minimal file IOHandler, predicts on the
// float32 NHWC input in INPUT (shape in INPUT.json), and writes OUT.json with the logits, the
// decoded weights and the metadata, so a test can check what a stock loader sees.
//
//   node test/stockLoad.mjs DIR INPUT OUT.json
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const [dir, inputFile, outFile] = process.argv.slice(2);

const handler = {
  async load() {
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
    const buffers = json.weightsManifest.flatMap((group) => group.paths).map((p) => readFileSync(path.join(dir, p)));
    const all = Buffer.concat(buffers);
    return {
      modelTopology: json.modelTopology,
      weightSpecs,
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      userDefinedMetadata: json.userDefinedMetadata,
    };
  },
};

await tf.setBackend('cpu');
const model = await tf.loadLayersModel(handler);
const shape = JSON.parse(readFileSync(`${inputFile}.json`, 'utf8'));
const bytes = readFileSync(inputFile);
const input = tf.tensor(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), shape);
const logits = model.predict(input);
const weights = Object.fromEntries(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
writeFileSync(outFile, JSON.stringify({
  logits: Array.from(logits.dataSync()),
  shape: logits.shape,
  weights,
  metadata: model.getUserDefinedMetadata() ?? null,
}));
