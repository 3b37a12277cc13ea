/**
 * A grayscale checkpoint as an RGB starting point: the same network with a 3-channel stem whose
 * kernel is the grayscale kernel divided by 3 on each channel (so a gray image gives the same
 * activations), at a new input size, with the mean and std repeated per channel. Every other
 * weight is copied by name. For fine-tuning the MNIST model on colour images.
 *
 *   npx tsx scripts/widen-stem.ts --model runs/mnist --input-size 96 --out runs/mnist-rgb96
 */
import { parseArgs } from 'node:util';
import { fileSystem, loadModel } from '../src/io/fileSystem.js';
import { architectureOf } from '../src/models/architectureOf.js';
import { mobileNetV2 } from '../src/models/mobilenetv2.js';
import { tf } from '../src/tf.js';
import { readModelMetadata } from '../src/training/metadata.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, out: { type: 'string' }, 'input-size': { type: 'string' } } });
if (!values.model || !values.out) {
  process.stderr.write('usage: npx tsx scripts/widen-stem.ts --model DIR --out DIR [--input-size N]\n');
  process.exit(2);
}
await tf.setBackend('cpu');
const source = await loadModel(values.model);
const arch = architectureOf(source);
if (arch === null || arch.inputShape[2] !== 1) throw new Error(`${values.model}: expected a grayscale MobileNetV2 of this library`);
const meta = readModelMetadata(source, values.model);
const size = Number(values['input-size'] ?? arch.inputShape[0]);
const { config } = arch;
const target = mobileNetV2({ ...config, inputShape: [size, size, 3], seed: 0 });
const byName = new Map(source.weights.map((w) => [w.originalName, w]));
for (const w of target.weights) {
  const from = byName.get(w.originalName)!;
  const value = w.originalName === `${arch.stem.layers.conv}/kernel`
    ? tf.tidy(() => tf.tile(from.read(), [1, 1, 3, 1]).div(3))
    : from.read().clone();
  w.write(value);
  value.dispose();
}
target.setUserDefinedMetadata({
  ...target.getUserDefinedMetadata(), ...meta,
  inputShape: [size, size, 3], inputSize: [size, size], mean: [meta.mean[0], meta.mean[0], meta.mean[0]], std: [meta.std[0], meta.std[0], meta.std[0]],
});
await target.save(fileSystem(values.out));
process.stdout.write(`wrote ${values.out}/model.json: ${size}×${size}×3, stem ${arch.stem.layers.conv} widened from 1 channel\n`);
