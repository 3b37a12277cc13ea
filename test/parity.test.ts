/**
 * Numerical parity with PyTorch: every fixture from scripts/make_fixtures.py (random weights,
 * randomized BN affine parameters and running statistics, seed MNIST model and torchvision at
 * several widths and input sizes) is loaded with loadTorchWeights and must reproduce PyTorch's
 * eval-mode logits to 1e-4 + 1e-3·max|logit|, on the cpu and wasm backends.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.js';
import { loadTorchWeights } from '../src/weights/loadTorchWeights.js';
import { buildFixtureModel, fixturePath, fixtures, readIO } from './fixtures/fixtures.js';

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
    const logits = tf.tidy(() => model.predict(tf.tensor(io.input, io.inputShape)) as tf.Tensor);
    expect(logits.shape).toEqual(io.logitsShape);
    const ours = await logits.data();
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();

    let maxErr = 0;
    let maxLogit = 0;
    io.logits.forEach((want, i) => {
      maxErr = Math.max(maxErr, Math.abs(ours[i] - want));
      maxLogit = Math.max(maxLogit, Math.abs(want));
    });
    const tolerance = 1e-4 + 1e-3 * maxLogit;
    errors.push(`${backend} ${fixture.name}: max |ours - torch| = ${maxErr.toExponential(2)} (tolerance ${tolerance.toExponential(2)})`);
    expect(maxErr).toBeLessThanOrEqual(tolerance);
  });
});

afterAll(() => {
  if (process.env.PARITY_REPORT) process.stderr.write(`${errors.join('\n')}\n`);
});
