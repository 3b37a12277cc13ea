/**
 * Writes models with saveTorchWeights for PyTorch to check:
 *
 *   npx tsx scripts/save_for_torch_check.ts tmp/saved
 *   /usr/bin/python3 scripts/make_fixtures.py --check-saved tmp/saved
 *
 * For each case DIR gets `<name>.safetensors` (saveTorchWeights), `<name>.io.safetensors` (an
 * NHWC `input` and this library's `logits` for it) and `<name>.json` (how to build the model in
 * PyTorch). The Python side loads the weights with `load_state_dict(strict=True)` and compares.
 * Cases: every parity fixture round-tripped through loadTorchWeights, plus models initialized here
 * (torchvision's default 224×224 α=1 model and a seed MNIST width with no fixture), whose BN
 * statistics are randomized so the buffers' layout matters.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { buildFixtureModel, fixturePath, fixtures, readIO } from '../test/fixtures/fixtures.js';
import { loadTorchWeights } from '../src/weights/loadTorchWeights.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { saveTorchWeights } from '../src/weights/saveTorchWeights.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: npx tsx scripts/save_for_torch_check.ts OUT_DIR\n');
  process.exit(2);
}
await mkdir(dir, { recursive: true });
await tf.setBackend('wasm');
await tf.ready();

interface Spec {
  model: 'mnist' | 'torchvision';
  alpha: number;
  numClasses: number;
  inputShape: [number, number, number];
}

async function write(name: string, spec: Spec, model: tf.LayersModel, input: tf.Tensor): Promise<void> {
  await saveTorchWeights(model, path.join(dir, `${name}.safetensors`));
  const logits = tf.tidy(() => model.predict(input) as tf.Tensor);
  await writeSafetensors(path.join(dir, `${name}.io.safetensors`), {
    input: { dtype: 'F32', shape: input.shape, data: (await input.data()) as Float32Array },
    logits: { dtype: 'F32', shape: logits.shape, data: (await logits.data()) as Float32Array },
  });
  await writeFile(path.join(dir, `${name}.json`), JSON.stringify(spec));
  logits.dispose();
  process.stdout.write(`wrote ${name}\n`);
}

for (const f of fixtures) {
  const model = buildFixtureModel(f);
  await loadTorchWeights(model, await readFile(fixturePath(f.weights)));
  const io = readIO(f);
  const input = tf.tensor(io.input, io.inputShape);
  await write(`roundtrip_${f.name}`, f, model, input);
  input.dispose();
  model.dispose();
}

const fresh: [string, Spec][] = [
  ['init_tv_a1.0_224', { model: 'torchvision', alpha: 1.0, numClasses: 1000, inputShape: [224, 224, 3] }],
  ['init_mnist_a0.75', { model: 'mnist', alpha: 0.75, numClasses: 10, inputShape: [28, 28, 1] }],
];
for (const [i, [name, spec]] of fresh.entries()) {
  const model = buildFixtureModel(spec);
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const [c] = layer.getWeights()[0].shape;
    const values = [
      tf.randomUniform([c], 0.5, 1.5, 'float32', i),
      tf.randomUniform([c], -0.5, 0.5, 'float32', i + 1),
      tf.randomNormal([c], 0, 0.1, 'float32', i + 2),
      tf.randomUniform([c], 0.5, 2, 'float32', i + 3),
    ];
    layer.setWeights(values);
    tf.dispose(values);
  }
  const input = tf.randomNormal([2, ...spec.inputShape], 0, 1, 'float32', 7);
  await write(name, spec, model, input);
  input.dispose();
  model.dispose();
}
