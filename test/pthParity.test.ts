/**
 * .pth parity with PyTorch: state_dicts written by torch.save itself (scripts/make_pth_fixtures.py),
 * zip and legacy formats, F32 and F16, loaded with loadTorchWeights, must reproduce PyTorch's
 * float64 eval-mode logits to 1e-4 + 1e-3·max|logit| (test/parity.test.ts's tolerance). One full
 * torchvision mobilenet_v2 (α=1, 224×224, 3,504,872 parameters) is generated at test time when
 * PyTorch is installed; CI installs it, so there the test fails rather than skips without it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mobileNetV2 } from '../src/models/mobilenetv2.js';
import type { InvertedResidualRow } from '../src/models/options.js';
import { tf } from '../src/tf.js';
import { loadTorchWeights } from '../src/weights/loadTorchWeights.js';
import { decodeFloat32, parseSafetensors } from '../src/weights/safetensors.js';

const DIR = fileURLToPath(new URL('fixtures/pth/', import.meta.url));
const TRIM: { alpha: number; numClasses: number; lastChannels: number; inputShape: [number, number, number]; table: InvertedResidualRow[] } =
  JSON.parse(readFileSync(`${DIR}trim.json`, 'utf8'));

function readIO(file: string) {
  const { tensors } = parseSafetensors(readFileSync(file), file);
  const get = (key: string) => ({ data: decodeFloat32(tensors.get(key)!, key, file), shape: tensors.get(key)!.shape });
  return { input: get('input'), logits: get('logits') };
}

async function expectParity(model: tf.LayersModel, weights: string, io: string) {
  const before = tf.memory().numTensors;
  const { loaded, missing, unexpected } = await loadTorchWeights(model, weights);
  expect(loaded.length).toBe(model.weights.length);
  expect([missing, unexpected]).toEqual([[], []]);
  const { input, logits: want } = readIO(io);
  const logits = tf.tidy(() => model.predict(tf.tensor(input.data, input.shape)) as tf.Tensor);
  expect(logits.shape).toEqual(want.shape);
  const ours = await logits.data();
  logits.dispose();
  expect(tf.memory().numTensors).toBe(before);
  let maxErr = 0;
  let maxLogit = 0;
  want.data.forEach((w, i) => {
    maxErr = Math.max(maxErr, Math.abs(ours[i] - w));
    maxLogit = Math.max(maxLogit, Math.abs(w));
  });
  expect(maxErr).toBeLessThanOrEqual(1e-4 + 1e-3 * maxLogit);
}

describe.each(['cpu', 'wasm'])('.pth files from torch.save reproduce PyTorch on %s', (backend) => {
  it.each(['zip_f32', 'legacy_f32', 'zip_f16', 'legacy_f16'])('trim_%s', async (name) => {
    expect(await tf.setBackend(backend)).toBe(true);
    const model = mobileNetV2({
      alpha: TRIM.alpha, numClasses: TRIM.numClasses, inputShape: TRIM.inputShape, lastChannels: TRIM.lastChannels,
      invertedResidualSetting: TRIM.table, seed: 1,
    });
    await expectParity(model, `${DIR}trim_${name}.pth`, `${DIR}trim_${name.split('_')[1]}.io.safetensors`);
    model.dispose();
  });
});

const PYTHON = '/usr/bin/python3';
const hasTorch =
  spawnSync(PYTHON, ['-c', 'import importlib.util as u, sys; sys.exit(not (u.find_spec("torch") and u.find_spec("torchvision")))'], {
    stdio: 'ignore',
  }).status === 0;

describe('full-size torchvision mobilenet_v2 saved by torch.save', () => {
  // CI installs PyTorch: there a missing torch is a failure, not a skip.
  it.runIf(hasTorch || process.env.CI === 'true')('α=1, 224×224, zip format', async () => {
    expect(hasTorch, `${PYTHON} with torch and torchvision`).toBe(true);
    await tf.setBackend('wasm');
    const dir = await mkdtemp(path.join(tmpdir(), 'pth-full-'));
    try {
      const script = fileURLToPath(new URL('../scripts/make_pth_fixtures.py', import.meta.url));
      const run = spawnSync(PYTHON, [script, '--full', dir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' } });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual({ params: 3504872 });
      const model = mobileNetV2({ seed: 1 });
      await expectParity(model, path.join(dir, 'full.pth'), path.join(dir, 'full.io.safetensors'));
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
