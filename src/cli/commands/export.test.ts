import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingIO } from '../../../test/cliIO.js';
import { fixturePath, fixtures } from '../../../test/fixtures/fixtures.js';
import { onnxFiles, relativeDiff, runOnnx, toNchw } from '../../../test/onnx.js';
import { randomizeBatchNorm } from '../../../test/randomBatchNorm.js';
import { tinyModel } from '../../../test/tinyModel.js';
import { fileSystem } from '../../io/fileSystem.js';
import { mobileNetV2Mnist } from '../../models/mnist.js';
import { mobileNetV2 } from '../../models/mobilenetv2.js';
import { tf } from '../../tf.js';
import { runCli } from '../run.js';

let dir: string;
let model: tf.LayersModel;
let modelDir: string;
const files = onnxFiles(() => dir);
const lastLine = (text: string) => text.trim().split('\n').at(-1)!;

beforeAll(async () => {
  await tf.setBackend('wasm');
  dir = mkdtempSync(path.join(tmpdir(), 'export-cli-'));
  model = mobileNetV2({ alpha: 0.35, inputShape: [64, 56, 3], numClasses: 3, seed: 4 });
  randomizeBatchNorm(model, 4);
  model.setUserDefinedMetadata({ classNames: ['ant', 'bee', 'cow'], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], inputShape: [64, 56, 3] });
  modelDir = path.join(dir, 'model');
  await model.save(fileSystem(modelDir));
});
afterAll(() => {
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[]) {
  const io = recordingIO();
  const code = await runCli(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('mobilenetv2 export --format onnx', () => {
  it.each(['nchw', 'nhwc'] as const)('writes a file onnxruntime runs as TF.js does (--layout %s)', async (layout) => {
    const out = path.join(dir, `model_${layout}.onnx`);
    const r = await cli(['export', '--model', modelDir, '--format', 'onnx', '--out', out, '--layout', layout, '--json', '--backend', 'wasm']);
    expect(r.code, r.err).toBe(0);
    files.track(out);
    const input = layout === 'nchw' ? ['batch', 3, 64, 56] : ['batch', 64, 56, 3];
    expect(JSON.parse(lastLine(r.out))).toEqual({
      format: 'onnx', out, bytes: readFileSync(out).length, input: { name: 'input', shape: input }, output: { name: 'logits', shape: ['batch', 3] }, layout,
    });
    expect(r.err).toContain(`wrote ${out} (`);
    const x = tf.randomNormal([2, 64, 56, 3], 0, 1, 'float32', 1);
    const data = x.dataSync() as Float32Array;
    const got = await runOnnx(out, layout === 'nchw' ? toNchw(data, x.shape) : data, layout === 'nchw' ? [2, 3, 64, 56] : x.shape);
    expect(relativeDiff(got.data, tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()))).toBeLessThan(1e-4);
    x.dispose();
  });

  it('exports torchvision weights from a file with --labels', async () => {
    const tv = fixtures.find((f) => f.name === 'tv_a0.5_64x64')!;
    const labels = path.join(dir, 'labels.txt');
    writeFileSync(labels, Array.from({ length: tv.numClasses }, (_, i) => `class ${i}`).join('\n'));
    const out = path.join(dir, 'torchvision.onnx');
    const r = await cli(['export', '--weights', fixturePath(tv.weights), '--labels', labels, '--format', 'onnx', '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    files.track(out);
    expect(JSON.parse(lastLine(r.out)).input.shape).toEqual(['batch', 3, 224, 224]);
  });

  it.each([
    [['export', '--model', 'm', '--out', 'x.onnx'], '--format onnx|tfjs is required'],
    [['export', '--model', 'm', '--format', 'onnx'], '--out is required (FILE.onnx)'],
    [['export', '--model', 'm', '--format', 'onnx', '--out', 'x.bin'], '--out must be a .onnx file with --format onnx; received "x.bin"'],
    [['export', '--model', 'm', '--format', 'tflite', '--out', 'x'], '--format must be one of onnx, tfjs; received "tflite"'],
    [['export', '--model', 'm', '--format', 'tfjs', '--layout', 'nhwc', '--out', 'x'], '--layout goes with --format onnx'],
    [['export', '--model', 'm', '--weights', 'imagenet', '--format', 'onnx', '--out', 'x.onnx'], 'give either --model DIR or --weights imagenet'],
    [['export', '--model', '/no/such/model', '--format', 'onnx', '--out', 'x.onnx'], '/no/such/model/model.json: cannot read the model'],
  ])('%j fails with one line and exit code 2', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n').filter((l) => !l.startsWith('backend:'))).toEqual([expect.stringContaining(message)]);
    expect(r.out).toBe('');
  });

  it('refuses a model that is not a MobileNetV2 of this library, and an unwritable --out, leaving nothing behind', async () => {
    const other = tinyModel(1);
    const otherDir = path.join(dir, 'other');
    await other.save(fileSystem(otherDir));
    other.dispose();
    const refused = await cli(['export', '--model', otherDir, '--format', 'onnx', '--out', path.join(dir, 'other.onnx')]);
    expect(refused.code).toBe(2);
    expect(refused.err.trim().split('\n')).toEqual([expect.stringMatching(/^error: mobilenetv2 export --format onnx supports MobileNetV2 models built by this library .* is not one: /)]);
    writeFileSync(path.join(dir, 'blocker'), '');
    const unwritable = await cli(['export', '--model', modelDir, '--format', 'onnx', '--out', path.join(dir, 'blocker', 'x.onnx')]);
    expect(unwritable.code).toBe(2);
    expect(unwritable.err.trim().split('\n').at(-1)).toMatch(/^error: .*x\.onnx: cannot write the ONNX file \((ENOTDIR|EEXIST)\)$/);
    const asFile = await cli(['export', '--model', modelDir, '--format', 'tfjs', '--out', path.join(dir, 'blocker')]);
    expect(asFile.code).toBe(2);
    expect(asFile.err.trim().split('\n').at(-1)).toMatch(/^error: --out .*blocker is a file; with --format tfjs it must be a directory/);
  });

  it('creates the folders --out needs', async () => {
    const out = path.join(dir, 'new', 'folders', 'x.onnx');
    const r = await cli(['export', '--model', modelDir, '--format', 'onnx', '--out', out]);
    expect(r.code).toBe(0);
    expect(readFileSync(out).length).toBeGreaterThan(1000);
  });
});

describe('mobilenetv2 export --format tfjs', () => {
  it('writes a plain TF.js layers model that stock tf.loadLayersModel reads', async () => {
    const out = path.join(dir, 'tfjs');
    const r = await cli(['export', '--model', modelDir, '--format', 'tfjs', '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const weights = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(out, p))));
    const summary = JSON.parse(lastLine(r.out));
    expect(summary).toMatchObject({ format: 'tfjs', out, dtype: 'float32', bytes: readFileSync(path.join(out, 'model.json')).length + weights.reduce((a, w) => a + w.length, 0) });
    expect(summary.weightBytes).toBe(summary.float32WeightBytes);
    const buffer = Buffer.concat(weights);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
    }));
    const x = tf.randomNormal([1, 64, 56, 3]);
    expect(relativeDiff((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync())).toBe(0);
    loaded.dispose();
    x.dispose();
  });

  it('--quantize float16 writes TF.js\'s quantized manifest at half the size, within float16 of the model', async () => {
    const out = path.join(dir, 'tfjs-f16');
    const r = await cli(['export', '--model', modelDir, '--format', 'tfjs', '--quantize', 'float16', '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(lastLine(r.out));
    expect(summary.dtype).toBe('float16');
    expect(summary.weightBytes / summary.float32WeightBytes).toBeCloseTo(0.5, 2);
    const json = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const specs = json.weightsManifest.flatMap((g) => g.weights);
    expect(specs.filter((w) => w.dtype === 'float32').every((w) => w.quantization?.dtype === 'float16')).toBe(true);
    const weights = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(out, p)))));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology, weightSpecs: specs, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }));
    const x = tf.randomNormal([1, 64, 56, 3]);
    expect(relativeDiff((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync())).toBeLessThan(5e-3);
    expect((await cli(['export', '--model', modelDir, '--format', 'onnx', '--quantize', 'uint8', '--out', 'x.onnx'])).err).toContain('--quantize goes with --format tfjs');
    loaded.dispose();
    x.dispose();
  });
});

describe('--engine on predict and evaluate', () => {
  it('predict runs on onnxruntime, says so on stderr, and gives the tfjs engine\'s answers', async () => {
    const images = await Promise.all([0, 1, 2].map(async (i) => {
      const file = path.join(dir, `p${i}.png`);
      await sharp(Buffer.from(Array.from({ length: 70 * 60 * 3 }, (_, j) => (j * (i + 3) * 17) % 256)), { raw: { width: 70, height: 60, channels: 3 } }).png().toFile(file);
      return file;
    }));
    const ort = await cli(['predict', '--model', modelDir, '--engine', 'onnxruntime', '--threads', '2', '--json', ...images]);
    const tfjs = await cli(['predict', '--model', modelDir, '--engine', 'tfjs', '--json', ...images]);
    expect(ort.code, ort.err).toBe(0);
    expect(ort.err).toContain('inference engine: onnxruntime (onnxruntime-node 1.30.0, 2 threads)');
    expect(tfjs.err).toMatch(/inference engine: tfjs \(\w+\)/);
    const [a, b] = [JSON.parse(lastLine(ort.out)), JSON.parse(lastLine(tfjs.out))] as { top: { index: number; probability: number }[] }[][];
    a!.forEach((p, i) => {
      expect(p.top.map((c) => c.index)).toEqual(b![i]!.top.map((c) => c.index));
      p.top.forEach((c, j) => expect(c.probability).toBeCloseTo(b![i]!.top[j]!.probability, 5));
    });
    expect((await cli(['predict', '--model', modelDir, '--engine', 'gpu', images[0]!])).err).toContain('--engine must be one of tfjs, onnxruntime, auto; received "gpu"');
  });

  it('evaluate reports the engine in its JSON line, with the tfjs engine\'s accuracy', async () => {
    const mnist = mobileNetV2Mnist({ seed: 2 });
    mnist.setUserDefinedMetadata({ classNames: Array.from({ length: 10 }, (_, i) => String(i)), mean: [0.1307], std: [0.3081], inputShape: [28, 28, 1] });
    const mnistDir = path.join(dir, 'mnist');
    await mnist.save(fileSystem(mnistDir));
    mnist.dispose();
    const run = (engine: string) => cli(['evaluate', '--model', mnistDir, '--limit', '200', '--engine', engine, '--json']);
    const [ort, tfjs, auto] = [await run('onnxruntime'), await run('tfjs'), await run('auto')];
    expect(ort.code, ort.err).toBe(0);
    const [a, b, c] = [ort, tfjs, auto].map((r) => JSON.parse(lastLine(r.out)));
    expect([a.engine, b.engine, c.engine]).toEqual(['onnxruntime', 'tfjs', 'onnxruntime']);
    expect(a.correct).toBe(b.correct);
    expect(Math.abs(a.testLoss - b.testLoss)).toBeLessThan(1e-4 * b.testLoss);
    const bad = await cli(['evaluate', '--model', mnistDir, '--threads', '0']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--threads must be an integer >= 1; received "0"');
  });
});

files.itChecksAll();
