/**
 * Pretrained weights end to end, without network: torchvision's mobilenet_v2 (α=1, 1000 classes)
 * with random weights, saved by torch.save at test time (scripts/make_pth_fixtures.py --full), is
 * served from 127.0.0.1 under a name whose hash prefix matches, as download.pytorch.org serves
 * the real ones. Logits and pooled features must equal PyTorch's within the parity tolerance
 * (1e-4 + 1e-3·max|value|). Needs PyTorch; CI installs it, so there its absence is a failure.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeImageFolder } from '../scripts/make-image-folder.js';
import { runCli } from '../src/cli/run.js';
import { loadModel } from '../src/io/fileSystem.js';
import { loadClassifier } from '../src/predict/classifier.js';
import { IMAGENET_CLASSES } from '../src/pretrained/imagenetClasses.js';
import { pretrainedMobileNetV2 } from '../src/pretrained/pretrainedMobileNetV2.js';
import { PRETRAINED, type PretrainedSpec } from '../src/pretrained/weights.js';
import { embed } from '../src/predict/embed.js';
import { tf } from '../src/tf.js';
import { decodeFloat32, parseSafetensors } from '../src/weights/safetensors.js';
import { recordingIO } from './cliIO.js';

const PYTHON = '/usr/bin/python3';
const hasTorch =
  spawnSync(PYTHON, ['-c', 'import importlib.util as u, sys; sys.exit(not (u.find_spec("torch") and u.find_spec("torchvision")))'], {
    stdio: 'ignore',
  }).status === 0;
const IMAGE = fileURLToPath(new URL('fixtures/preprocess/landscape.png', import.meta.url));

function maxErr(ours: ArrayLike<number>, want: ArrayLike<number>) {
  let err = 0;
  let max = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(ours[i] - want[i]));
    max = Math.max(max, Math.abs(want[i]));
  }
  return { err, tolerance: 1e-4 + 1e-3 * max };
}

// CI installs PyTorch: there a missing torch fails the suite instead of skipping it.
describe.runIf(hasTorch || process.env.CI === 'true')('pretrainedMobileNetV2 from a served torch.save file', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let spec: PretrainedSpec;
  let requests = 0;
  let io: { input: tf.Tensor4D; logits: Float32Array; features: Float32Array };
  const env = () => ({ MOBILENETV2_TFJS_HOME: path.join(dir, 'cache'), TORCH_HOME: path.join(dir, 'torch'), MOBILENETV2_TFJS_WEIGHTS_URL: base });

  beforeAll(async () => {
    expect(hasTorch, `${PYTHON} with torch and torchvision`).toBe(true);
    await tf.setBackend('wasm');
    dir = await mkdtemp(path.join(tmpdir(), 'pretrained-e2e-'));
    const script = fileURLToPath(new URL('../scripts/make_pth_fixtures.py', import.meta.url));
    const run = spawnSync(PYTHON, [script, '--full', dir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' } });
    expect(run.status, run.stderr).toBe(0);
    const bytes = await readFile(path.join(dir, 'full.pth'));
    const prefix = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
    spec = { ...PRETRAINED.IMAGENET1K_V2, file: `mobilenet_v2-${prefix}.pth`, sha256Prefix: prefix };
    server = createServer((req, res) => {
      requests++;
      if (req.url === `/models/${spec.file}`) res.writeHead(200, { 'content-length': bytes.byteLength }).end(bytes);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/`;
    const file = path.join(dir, 'full.io.safetensors');
    const { tensors } = parseSafetensors(readFileSync(file), file);
    const get = (key: string) => decodeFloat32(tensors.get(key)!, key, file);
    io = { input: tf.tensor4d(get('input'), tensors.get('input')!.shape as [number, number, number, number]), logits: get('logits'), features: get('features') };
  }, 120_000);

  afterAll(async () => {
    io?.input.dispose();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads once, loads the .pth, reproduces PyTorch and records the transform', async () => {
    const model = await pretrainedMobileNetV2({ weights: spec, env: env() });
    expect(requests).toBe(1);
    const before = tf.memory().numTensors;
    const logits = tf.tidy(() => model.predict(io.input) as tf.Tensor);
    const { err, tolerance } = maxErr(await logits.data(), io.logits);
    logits.dispose();
    expect(err).toBeLessThanOrEqual(tolerance);
    expect(tf.memory().numTensors).toBe(before);
    const meta = model.getUserDefinedMetadata() as Record<string, unknown>;
    expect(meta).toMatchObject({ resize: 232, inputShape: [224, 224, 3], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], weights: 'IMAGENET1K_V2' });
    expect((meta.classNames as string[]).slice(0, 2)).toEqual(['tench', 'goldfish']);
    model.dispose();
    (await pretrainedMobileNetV2({ weights: spec, env: env() })).dispose();
    expect(requests).toBe(1);
  }, 60_000);

  it('embed returns PyTorch\'s pooled 1280-d features, with and without the top, and leaks nothing', async () => {
    const model = await pretrainedMobileNetV2({ weights: spec, env: env() });
    const headless = await pretrainedMobileNetV2({ weights: spec, env: env(), includeTop: false, pooling: 'none' });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      for (const m of [model, headless]) {
        const features = embed(m, io.input);
        expect(features.shape).toEqual([2, 1280]);
        const { err, tolerance } = maxErr(await features.data(), io.features);
        expect(err).toBeLessThanOrEqual(tolerance);
        features.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    }
    model.dispose();
    headless.dispose();
  }, 60_000);

  it('predict --weights FILE prints ImageNet top-5 and writes --features as .npy and .jsonl', async () => {
    const weights = path.join(dir, 'full.pth');
    for (const ext of ['npy', 'jsonl']) {
      const out = path.join(dir, `features.${ext}`);
      const cli = recordingIO();
      const code = await runCli(['predict', '--weights', weights, '--backend', 'wasm', '--features', out, IMAGE, IMAGE], cli);
      expect(code, cli.err()).toBe(0);
      const lines = cli.out().trim().split('\n');
      expect(lines).toHaveLength(12);
      expect(lines[0]).toBe(IMAGE);
      for (const line of lines.slice(1, 6)) {
        const [, name, pct] = /^ {2}(.+?)\s+(\d+\.\d\d)%$/.exec(line)!;
        expect(IMAGENET_CLASSES).toContain(name);
        expect(Number(pct)).toBeLessThanOrEqual(100);
      }
      if (ext === 'npy') {
        // numpy itself reads the file: shape and dtype as written.
        const check = spawnSync(PYTHON, ['-c', `import numpy as n; a = n.load(${JSON.stringify(out)}); print(a.shape, a.dtype, float(abs(a[0] - a[1]).max()))`], { encoding: 'utf8' });
        expect(check.stdout.trim()).toBe('(2, 1280) float32 0.0');
      } else {
        const rows = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
        expect(rows.map((r) => [r.file, r.features.length])).toEqual([[IMAGE, 1280], [IMAGE, 1280]]);
      }
    }
  }, 120_000);

  it('finetune --weights imagenet starts from the weights, and predict on the result needs no flags', async () => {
    // The name must resolve to the served file, whose hash is not torchvision's: the registry
    // entry is swapped for this test only and restored after.
    const real = PRETRAINED.IMAGENET1K_V2;
    Object.assign(PRETRAINED, { IMAGENET1K_V2: spec });
    for (const [k, v] of Object.entries(env())) vi.stubEnv(k, v);
    try {
      const data = path.join(dir, 'digits');
      await makeImageFolder(data, { perClass: 4, size: 40, digits: '01', seed: 5 });
      const out = path.join(dir, 'tuned');
      const cli = recordingIO();
      const code = await runCli(['finetune', '--data', data, '--weights', 'imagenet', '--input-size', '64', '--epochs', '1', '--freeze-features',
        '--batch-size', '4', '--val-split', '0.25', '--seed', '1', '--progress', 'none', '--backend', 'wasm', '--out', out], cli);
      expect(code, cli.err()).toBe(0);
      expect(cli.err()).toMatch(/starting point: IMAGENET1K_V2 \(.*\) \(pretrained\): loaded 260 tensors, replaced classifier\.1\.weight, classifier\.1\.bias/);
      const meta = (await loadModel(out)).getUserDefinedMetadata() as Record<string, unknown>;
      // 64 px crop of the 232/224 framing: resize round(64 · 232 / 224) = 66.
      expect(meta).toMatchObject({ classNames: ['0', '1'], inputShape: [64, 64, 3], resize: 66, mean: [0.485, 0.456, 0.406] });
      const classifier = await loadClassifier(out);
      expect(classifier.resize).toBe(66);
      classifier.model.dispose();
      const predict = recordingIO();
      expect(await runCli(['predict', '--model', out, '--backend', 'wasm', IMAGE], predict), predict.err()).toBe(0);
      expect(predict.out().trim().split('\n')).toHaveLength(3);
    } finally {
      Object.assign(PRETRAINED, { IMAGENET1K_V2: real });
      vi.unstubAllEnvs();
    }
  }, 300_000);

  it('predict --weights imagenet offline: one line naming the URL and where to put the file, exit 2', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/models/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    vi.stubEnv('MOBILENETV2_TFJS_HOME', path.join(dir, 'empty-cache'));
    vi.stubEnv('TORCH_HOME', path.join(dir, 'no-torch'));
    vi.stubEnv('MOBILENETV2_TFJS_WEIGHTS_URL', url);
    try {
      const cli = recordingIO();
      expect(await runCli(['predict', '--weights', 'imagenet', '--backend', 'wasm', IMAGE], cli)).toBe(2);
      const target = path.join(dir, 'empty-cache', 'mobilenet_v2-7ebf99e0.pth');
      expect(cli.err().trim().split('\n').at(-1)).toBe(
        `error: cannot download ${url}mobilenet_v2-7ebf99e0.pth (ECONNREFUSED); without network, download it elsewhere and place it at ${target}`,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
