import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingIO } from '../../test/cliIO.js';
import { fixturePath, fixtures, readIO } from '../../test/fixtures/fixtures.js';
import { runCli } from '../cli/run.js';
import { InputError } from '../errors.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { tf } from '../tf.js';
import { readModelMetadata } from '../training/metadata.js';
import { writeSafetensors } from '../weights/safetensors.js';
import { torchStateDict } from '../weights/saveTorchWeights.js';
import { pretrainedMobileNetV2 } from './pretrainedMobileNetV2.js';

beforeAll(() => tf.setBackend('cpu'));

// torchvision MobileNetV2s of other widths and heads, saved by PyTorch (scripts/make_fixtures.py).
describe.each(fixtures.filter((f) => f.model === 'torchvision').map((f) => [f.name, f] as const))('pretrainedMobileNetV2 with PyTorch\'s %s', (_, fixture) => {
  it("reads the width and classes off the file and gives PyTorch's logits", async () => {
    const io = readIO(fixture);
    const [h, w] = fixture.inputShape;
    const model = await pretrainedMobileNetV2({ file: fixturePath(fixture.weights), inputSize: [h, w] });
    const logits = tf.tidy(() => model.predict(tf.tensor(io.input, io.inputShape)) as tf.Tensor);
    const ours = await logits.data();
    const scale = Math.max(...Array.from(io.logits, Math.abs));
    for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i]! - io.logits[i]!)).toBeLessThan(1e-4 + 1e-3 * scale);
    const metadata = readModelMetadata(model, 'test');
    expect(metadata?.classNames).toEqual(Array.from({ length: fixture.numClasses }, (_, i) => String(i)));
    expect(metadata?.mean).toEqual([0.485, 0.456, 0.406]);
    tf.dispose(logits);
    model.dispose();
  });
});

describe('pretrainedMobileNetV2 with a file of other weights', () => {
  let dir: string;
  let file: string;
  let broken: string;
  let source: tf.LayersModel;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pretrained-'));
    file = path.join(dir, 'narrow.safetensors');
    broken = path.join(dir, 'broken.safetensors');
    source = mobileNetV2({ alpha: 0.35, numClasses: 7, inputShape: [32, 32, 3], seed: 3 });
    const state = torchStateDict(source);
    await writeSafetensors(file, state);
    delete state['features.5.conv.1.1.running_var'];
    await writeSafetensors(broken, state);
  });
  afterAll(() => {
    source.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads any width and head, with class names given or numbered', async () => {
    const model = await pretrainedMobileNetV2({ file, inputSize: 32, classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] });
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, source.predict(x) as tf.Tensor))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-5);
    expect(readModelMetadata(model, 'test')?.classNames).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    model.dispose();
    const features = await pretrainedMobileNetV2({ file, inputSize: 32, includeTop: false });
    expect(features.outputs[0]!.shape).toEqual([null, 1280]);
    features.dispose();
    x.dispose();
  });

  it('refuses a file with a key missing, and class names of the wrong count, in one line naming them', async () => {
    const before = tf.memory().numTensors;
    for (const [options, message] of [
      [{ file: broken, inputSize: 32 }, /broken\.safetensors: .*features\.5\.conv\.1\.1\.running_var is missing/],
      [{ file, inputSize: 32, classNames: ['cat', 'dog'] }, /classNames must be 7 strings, one per output of .*narrow\.safetensors's classifier; received 2/],
    ] as const) {
      const error = await pretrainedMobileNetV2(options).then(() => null, (e: unknown) => e as Error);
      expect(error).toBeInstanceOf(InputError);
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain('\n');
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('predict --weights FILE of a model trained in PyTorch', () => {
  const weights = fixturePath('tv_a0.35_67x45.safetensors');
  const image = fixturePath('preprocess/landscape.png');
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'labels-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names its classes from --labels', async () => {
    const labels = path.join(dir, 'labels.txt');
    writeFileSync(labels, 'ant\nbee\ncat\ndog\neel\nfox\ngnu\n');
    const cli = recordingIO();
    const code = await runCli(['predict', '--weights', weights, '--labels', labels, '--top-k', '7', '--backend', 'cpu', '--json', image], cli);
    expect(code, cli.err()).toBe(0);
    const [prediction] = JSON.parse(cli.out().trim().split('\n').at(-1)!) as { top: { className: string; probability: number }[] }[];
    expect(prediction!.top.map((c) => c.className).sort()).toEqual(['ant', 'bee', 'cat', 'dog', 'eel', 'fox', 'gnu']);
    expect(prediction!.top.reduce((sum, c) => sum + c.probability, 0)).toBeCloseTo(1, 5);
  });

  it('refuses labels of the wrong count, or without a file, in one line', async () => {
    const labels = path.join(dir, 'two.txt');
    writeFileSync(labels, 'cat\ndog\n');
    for (const [args, message] of [
      [['--weights', weights, '--labels', labels], `error: classNames must be 7 strings, one per output of ${weights}'s classifier; received 2`],
      [['--weights', 'imagenet', '--labels', labels], "error: --labels goes with --weights FILE (--weights imagenet has ImageNet's class names)"],
    ] as const) {
      const cli = recordingIO();
      expect(await runCli(['predict', ...args, '--backend', 'cpu', image], cli)).toBe(2);
      expect(cli.err().trim().split('\n').at(-1)).toBe(message);
    }
  });
});
