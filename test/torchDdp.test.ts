/**
 * The bridge to PyTorch's distributed training, run for real: saveTorchWeights → torchrun
 * (2 processes, gloo, CPU) running scripts/torch_ddp.py for a few DDP steps → loadTorchWeights.
 * PyTorch is the reference on both sides: its logits before training must equal this library's
 * for the exported weights, and after training the library must load exactly what PyTorch saved
 * and compute PyTorch's logits with it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect } from 'vitest';
import { makeImageFolder } from '../scripts/make-image-folder.js';
import { scanImageFolder } from '../src/data/imageFolder.js';
import { fileSystem } from '../src/io/fileSystem.js';
import { mobileNetV2Mnist } from '../src/models/mnist.js';
import { mobileNetV2 } from '../src/models/mobilenetv2.js';
import { tf } from '../src/tf.js';
import { loadTorchWeights } from '../src/weights/loadTorchWeights.js';
import { decodeFloat32, parseSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import { saveTorchWeights, torchStateDict } from '../src/weights/saveTorchWeights.js';
import { fixturePath } from './fixtures/fixtures.js';
import { itWithTorch, PYTHON } from './fixtures/torch.js';
import { randomizeBatchNorm } from './randomBatchNorm.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../scripts/torch_ddp.py', import.meta.url));
// Odd, non-square: every stride-2 conv sees odd and even sizes, where TF's 'same' and PyTorch's padding differ.
const OPTIONS = { inputShape: [37, 45, 3] as [number, number, number], alpha: 0.35, numClasses: 3, dropout: 0.2 };
const CLASSES = ['0', '1', '2'];

/** A free TCP port for torchrun's static rendezvous (its --standalone always takes 29400). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function readTensors(file: string): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  const { tensors } = parseSafetensors(await readFile(file), file);
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [key, entry] of tensors) if (entry.dtype !== 'I64') out.set(key, { shape: entry.shape, values: decodeFloat32(entry, key, file) });
  return out;
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('saveTorchWeights → torchrun DDP → loadTorchWeights', () => {
  let dir: string;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(tmpdir(), 'torch-ddp-'));
  });

  itWithTorch('trains 4 DDP steps (over 2 epochs) on 2 gloo processes from exported weights; both sides agree before and after', async () => {
    const model = mobileNetV2({ ...OPTIONS, seed: 5 });
    randomizeBatchNorm(model, 9);
    model.setUserDefinedMetadata({ ...model.getUserDefinedMetadata(), classNames: CLASSES, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], inputShape: OPTIONS.inputShape });
    const start = path.join(dir, 'start.safetensors');
    await saveTorchWeights(model, start);
    const data = path.join(dir, 'digits');
    // Seed 6 draws PNG, JPEG, WebP and GIF files: PyTorch must read the same images as the library.
    await makeImageFolder(data, { perClass: 8, size: 32, digits: '012', seed: 6 });
    const { files } = await scanImageFolder(data);
    expect(new Set(files.map((f) => path.extname(f)))).toEqual(new Set(['.png', '.jpg', '.webp', '.gif']));
    const input = tf.randomNormal([2, ...OPTIONS.inputShape], 0, 1, 'float32', 4);
    await writeSafetensors(path.join(dir, 'check.safetensors'), { input: { dtype: 'F32', shape: input.shape, data: input.dataSync() as Float32Array } });
    const ours = tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync() as Float32Array);

    const out = path.join(dir, 'trained.safetensors');
    const port = await freePort();
    const { stdout } = await run(PYTHON, [
      '-m', 'torch.distributed.run', '--nnodes', '1', '--nproc_per_node', '2', '--master_addr', '127.0.0.1', '--master_port', String(port),
      // Debian's torch 1.13 launcher crashes on Python 3.11 with its default '0' (no redirect):
      // Std(IntFlag) lookups of 0 return None there (pytorch/pytorch#92319). A real value avoids it.
      '--redirects', '2', '--tee', '2',
      SCRIPT, '--weights', start, '--data', data, '--out', out, '--epochs', '2', '--steps', '4', '--batch-size', '4', '--lr', '0.01',
      '--check-input', path.join(dir, 'check.safetensors'), '--seed', '1',
    ], { env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: 240_000 });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    const summary = lines.at(-1);
    expect(summary).toMatchObject({ summary: true, backend: 'gloo', worldSize: 2, steps: 4, images: files.length, imagesPerProcess: 12, replicaSpread: 0 });
    expect(lines.filter((l) => l.step !== undefined).map((l) => l.step)).toEqual([1, 2, 3, 4]);

    // Before training: PyTorch's eval-mode logits of the exported weights are ours.
    const check = await readTensors(path.join(dir, 'check.safetensors'.replace('check', 'trained.check')));
    const before = check.get('logits_before')!.values;
    expect(maxAbsDiff(before, ours)).toBeLessThan(1e-4 * Math.max(1, maxAbs(before)));

    // After: the library loads every tensor PyTorch saved, bit for bit, and computes PyTorch's logits.
    const trained = mobileNetV2({ ...OPTIONS, seed: 6 });
    const result = await loadTorchWeights(trained, out);
    expect(result.loaded).toHaveLength(trained.weights.length);
    const saved = await readTensors(out);
    const reloaded = torchStateDict(trained);
    const startTensors = await readTensors(start);
    const unchanged: string[] = [];
    for (const [key, tensor] of saved) {
      const mine = reloaded[key];
      expect(mine.shape, key).toEqual(tensor.shape);
      expect(maxAbsDiff(mine.data as Float32Array, tensor.values), key).toBe(0);
      if (maxAbsDiff(tensor.values, startTensors.get(key)!.values) === 0) unchanged.push(key);
    }
    // Every weight and BatchNorm statistic moved in 4 steps. A few BatchNorm biases get exactly
    // zero gradient: a per-channel constant that reaches the loss only through a 1×1 conv and a
    // training-mode BatchNorm is subtracted again with the batch mean.
    expect(unchanged.filter((key) => !/\.conv\.\d\.bias$/.test(key))).toEqual([]);
    expect(unchanged.length).toBeLessThan(saved.size / 20);
    const after = check.get('logits_after')!.values;
    const theirs = tf.tidy(() => (trained.predict(input) as tf.Tensor).dataSync() as Float32Array);
    expect(maxAbsDiff(theirs, after)).toBeLessThan(1e-4 * Math.max(1, maxAbs(after)));
    expect(maxAbsDiff(after, before)).toBeGreaterThan(1e-3);

    const metadata = parseSafetensors(await readFile(out), out).metadata;
    expect(JSON.parse(metadata.architecture)).toMatchObject({ inputShape: OPTIONS.inputShape, alpha: 0.35, numClasses: 3 });
    expect(JSON.parse(metadata.preprocessing).classNames).toEqual(CLASSES);
    tf.dispose(input);
    model.dispose();
    trained.dispose();
  }, 300_000);

  itWithTorch('runs without a launcher, takes the architecture from a model.json, writes .pth; bad input is one line', async () => {
    // A state_dict PyTorch wrote (make_fixtures.py), whose metadata names no architecture.
    const weights = fixturePath('mnist_a0.5.safetensors');
    const config = path.join(dir, 'mnist-a0.5');
    const model = mobileNetV2Mnist({ alpha: 0.5, seed: 1 });
    await model.save(fileSystem(config));
    const data = path.join(dir, 'digits10');
    await makeImageFolder(data, { perClass: 2, size: 28, seed: 3 });
    const script = (...args: string[]) => run(PYTHON, [SCRIPT, ...args], { env: { ...process.env, OMP_NUM_THREADS: '1', MASTER_PORT: String(0) }, timeout: 120_000 });

    const out = path.join(dir, 'single.pth');
    const { stdout } = await script('--weights', weights, '--architecture', path.join(config, 'model.json'), '--data', data, '--out', out, '--steps', '1', '--batch-size', '8');
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ worldSize: 1, steps: 1, imagesPerProcess: 20 });
    expect((await loadTorchWeights(model, out)).loaded).toHaveLength(model.weights.length);
    model.dispose();

    const failure = (args: string[]) => script(...args).then(() => null, (e: { code: number; stderr: string }) => ({ code: e.code, line: e.stderr.trim() }));
    expect(await failure(['--weights', path.join(dir, 'nope.safetensors'), '--data', data, '--out', out])).toEqual({ code: 2, line: `error: --weights ${path.join(dir, 'nope.safetensors')}: no such file` });
    expect(await failure(['--weights', weights, '--data', data, '--out', out])).toEqual({
      code: 2, line: `error: --weights ${weights}: no 'architecture' in its metadata (saveTorchWeights writes it); pass --architecture model.json`,
    });
    const wrong = path.join(dir, 'start.safetensors');
    expect((await failure(['--weights', wrong, '--architecture', path.join(config, 'model.json'), '--data', data, '--out', out]))?.line)
      .toMatch(new RegExp(`^error: --weights ${wrong}: does not match the architecture: Error\\(s\\) in loading state_dict`));
    expect((await failure(['--weights', wrong, '--data', data, '--out', out]))?.line).toBe(`error: --data ${data}: classes ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] differ from the model's classNames ['0', '1', '2']`);
  }, 300_000);
});
