/**
 * Numerical parity with PyTorch: every fixture from scripts/make_fixtures.py (random weights,
 * randomized BN affine parameters and running statistics, seed MNIST model and torchvision at
 * several widths and input sizes) is loaded with loadTorchWeights and must reproduce PyTorch's
 * eval-mode logits to 1e-4 + 1e-3·max|logit|, on the cpu and wasm backends, through `model.predict`
 * and through `inferencePlan` (BatchNorm folded into the convs).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { inferencePlan } from '../src/predict/inferencePlan.js';
import { tf } from '../src/tf.js';
import { loadTorchWeights } from '../src/weights/loadTorchWeights.js';
import { torchKeyMap } from '../src/weights/torchKeys.js';
import { buildFixtureModel, fixturePath, fixtures, readIO, readTrainStep } from './fixtures/fixtures.js';
import { PYTHON, itWithTorch } from './fixtures/torch.js';
import { writeTorchCheckCases } from './fixtures/torchCheck.js';

const errors: string[] = [];

describe.each(['cpu', 'wasm'])('parity with PyTorch on %s', (backend) => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (_, fixture) => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
    const model = buildFixtureModel(fixture);
    const before = tf.memory().numTensors;
    const { loaded } = await loadTorchWeights(model, fixturePath(fixture.weights));
    expect(loaded.length).toBe(model.weights.length);

    const io = readIO(fixture);
    // model.predict, and the inference plan with every BatchNorm folded into its conv.
    const plan = inferencePlan(model);
    const [logits, folded] = tf.tidy(() => {
      const x = tf.tensor(io.input, io.inputShape);
      return [model.predict(x) as tf.Tensor, plan.predict(x)];
    });
    plan.dispose();
    expect(logits.shape).toEqual(io.logitsShape);
    expect(folded.shape).toEqual(io.logitsShape);
    const outputs = { predict: await logits.data(), folded: await folded.data() };
    tf.dispose([logits, folded]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();

    for (const [path, ours] of Object.entries(outputs)) {
      let maxErr = 0;
      let maxLogit = 0;
      io.logits.forEach((want, i) => {
        maxErr = Math.max(maxErr, Math.abs(ours[i] - want));
        maxLogit = Math.max(maxLogit, Math.abs(want));
      });
      const tolerance = 1e-4 + 1e-3 * maxLogit;
      errors.push(`${backend} ${fixture.name} ${path}: max |ours - torch| = ${maxErr.toExponential(2)} (tolerance ${tolerance.toExponential(2)})`);
      expect(maxErr, path).toBeLessThanOrEqual(tolerance);
    }
  });
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
};

// One training-mode forward (dropout off): BN must normalize with the batch statistics and move
// its running statistics by PyTorch's momentum 0.1. Stock TF.js BatchNormalization updates the
// running variance with the biased batch variance, where PyTorch uses the unbiased one (n/(n-1),
// n = batch·H·W), so the variances are compared after undoing that factor on PyTorch's update.
describe('training-mode BatchNorm against PyTorch (cpu)', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (_, fixture) => {
    await tf.setBackend('cpu');
    const model = buildFixtureModel(fixture, { dropout: 0 });
    await loadTorchWeights(model, fixturePath(fixture.weights));
    const io = readIO(fixture);
    const step = readTrainStep(fixture);
    const keys = new Map(torchKeyMap(model).params.map((p) => [p.variable, p.key]));
    const before = new Map(model.weights.map((w) => [w, w.read().dataSync().slice()]));

    const logits = tf.tidy(() => model.apply(tf.tensor(io.input, io.inputShape), { training: true }) as tf.Tensor);
    const maxLogit = Math.max(...Array.from(step.logits, Math.abs));
    expect(maxAbsDiff(await logits.data(), step.logits)).toBeLessThanOrEqual(1e-4 + 1e-3 * maxLogit);
    logits.dispose();

    const momentum = 0.1;
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      const [, h, w] = layer.outputShape as number[];
      const n = io.inputShape[0] * h * w;
      const [, , mean, variance] = layer.weights;
      const torchMean = step.runningStats.get(keys.get(mean)!)!;
      const torchVar = step.runningStats.get(keys.get(variance)!)!;
      expect(maxAbsDiff(mean.read().dataSync(), torchMean), keys.get(mean)).toBeLessThanOrEqual(1e-4);
      const old = before.get(variance)!;
      const biased = torchVar.map((v, c) => (1 - momentum) * old[c] + (v - (1 - momentum) * old[c]) * ((n - 1) / n));
      const tolerance = 1e-4 * Math.max(1, ...Array.from(torchVar));
      expect(maxAbsDiff(variance.read().dataSync(), biased), keys.get(variance)).toBeLessThanOrEqual(tolerance);
    }
    model.dispose();
  });
});

// The other direction: PyTorch itself loads what saveTorchWeights wrote, with strict=True, and
// reproduces our logits. Needs Debian's PyTorch: skipped without it, except in CI, where it fails.
describe('PyTorch loads files written by saveTorchWeights', () => {
  itWithTorch('load_state_dict(strict=True) accepts them and reproduces the logits', async () => {
    await tf.setBackend('cpu');
    const dir = await mkdtemp(path.join(tmpdir(), 'torch-check-'));
    const names = await writeTorchCheckCases(dir);
    const script = fileURLToPath(new URL('../scripts/make_fixtures.py', import.meta.url));
    const run = spawnSync(PYTHON, [script, '--check-saved', dir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' } });
    expect(run.stderr.trim().split('\n').at(-1) ?? '', 'python stderr').not.toMatch(/Error/);
    const results = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(results.map((r) => r.saved).sort()).toEqual([...names].sort());
    for (const r of results) expect(r, r.saved).toMatchObject({ strictLoad: 'ok', pass: true });
    expect(run.status).toBe(0);
  });
});

afterAll(() => {
  if (process.env.PARITY_REPORT) process.stderr.write(`${errors.join('\n')}\n`);
});
