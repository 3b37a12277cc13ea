import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomizeBatchNorm } from '../../test/randomBatchNorm.js';
import { InputError } from '../errors.js';
import { loadModel } from '../io/fileSystem.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { loadClassifier } from '../predict/classifier.js';
import { tf } from '../tf.js';
import { exportTfjs } from './tfjs.js';

const STOCK_LOADER = fileURLToPath(new URL('../../test/stockLoad.mjs', import.meta.url));
const META = { classNames: ['a', 'b', 'c', 'd', 'e'], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], inputShape: [96, 96, 3] };

interface StockResult {
  logits: number[];
  weights: Record<string, number[]>;
  metadata: unknown;
}

/** Runs test/stockLoad.mjs: a separate Node process with only @tensorflow/tfjs. */
async function stockLoad(dir: string, input: tf.Tensor): Promise<StockResult> {
  const inputFile = path.join(dir, '..', `${path.basename(dir)}.input`);
  await writeFile(inputFile, input.dataSync() as Float32Array);
  await writeFile(`${inputFile}.json`, JSON.stringify(input.shape));
  const outFile = `${inputFile}.out.json`;
  execFileSync(process.execPath, [STOCK_LOADER, dir, inputFile, outFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  return JSON.parse(await readFile(outFile, 'utf8'));
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('exportTfjs', () => {
  let model: tf.LayersModel;
  let input: tf.Tensor;
  let reference: Float32Array;
  let original: Record<string, Float32Array>;
  let root: string;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = mobileNetV2({ inputShape: [96, 96, 3], alpha: 0.35, numClasses: 5, seed: 3 });
    randomizeBatchNorm(model, 7);
    model.setUserDefinedMetadata({ ...model.getUserDefinedMetadata(), ...META });
    input = tf.randomNormal([2, 96, 96, 3], 0, 1, 'float32', 11);
    reference = tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync() as Float32Array);
    original = Object.fromEntries(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
    root = await mkdtemp(path.join(tmpdir(), 'export-tfjs-'));
  });

  it('writes float32, float16 and uint8 copies that stock tf.loadLayersModel loads in a process without this library', async () => {
    const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const results: Record<string, { bytes: number; logitError: number }> = {};
    for (const quantize of [undefined, 'float16', 'uint8'] as const) {
      const dir = path.join(root, quantize ?? 'float32');
      const written = await exportTfjs(model, dir, quantize && { quantize });
      const manifest = (JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON).weightsManifest[0].weights;
      const stock = await stockLoad(dir, input);
      expect(stock.metadata).toEqual(model.getUserDefinedMetadata());
      expect(stock.metadata).toMatchObject(META);
      results[written.dtype] = { bytes: written.weightBytes, logitError: maxAbsDiff(stock.logits, reference) / scale };

      for (const spec of manifest) {
        const w = original[spec.name];
        const decoded = stock.weights[spec.name];
        expect(decoded, spec.name).toHaveLength(w.length);
        const q = spec.quantization;
        if (quantize === undefined) {
          expect(q).toBeUndefined();
          expect(maxAbsDiff(decoded, w), spec.name).toBe(0);
        } else if (quantize === 'float16' || /\/moving_(mean|variance)$/.test(spec.name)) {
          expect(q, spec.name).toEqual({ dtype: 'float16' });
          // Half an ulp of an 11-bit significand, or half the smallest subnormal.
          const outside = Array.from(w).filter((v, i) => Math.abs(decoded[i] - v) > Math.max(Math.abs(v) * 2 ** -11, 2 ** -25));
          expect(outside, spec.name).toEqual([]);
        } else {
          expect(q?.dtype, spec.name).toBe('uint8');
          expect(maxAbsDiff(decoded, w), spec.name).toBeLessThanOrEqual(q!.scale! * 1.0001);
        }
      }
    }
    expect(results.float32.logitError).toBeLessThan(1e-5);
    expect(results.float16.bytes).toBe(results.float32.bytes / 2);
    expect(results.float16.logitError).toBeLessThan(2e-3);
    const statistics = model.weights.filter((w) => /\/moving_(mean|variance)$/.test(w.originalName)).reduce((n, w) => n + w.shape.reduce((a, b) => a! * b!, 1)!, 0);
    expect(results.uint8.bytes).toBe(results.float32.bytes / 4 + statistics);
    expect(results.uint8.logitError).toBeLessThan(0.05);
    expect(results.uint8.logitError).toBeGreaterThan(results.float16.logitError);
  }, 240_000);

  it('exports a saved directory; the library reads the quantized copy; float32 export of a quantized copy dequantizes', async () => {
    const src = path.join(root, 'float16');
    const dir = path.join(root, 'from-dir-uint8');
    const written = await exportTfjs(src, dir, { quantize: 'uint8', float16Weights: [] });
    expect(written.report.float16).toEqual([]);
    expect(written.report.uint8).toHaveLength(model.weights.length);
    const classifier = await loadClassifier(dir);
    expect(classifier.classNames).toEqual(META.classNames);
    classifier.model.dispose();

    const back = path.join(root, 'back-to-float32');
    await exportTfjs(dir, back);
    const json = JSON.parse(await readFile(path.join(back, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    expect(json.weightsManifest[0].weights.every((s) => s.quantization === undefined)).toBe(true);
    const [a, b] = await Promise.all([loadModel(dir), loadModel(back)]);
    const [x, y] = tf.tidy(() => [(a.predict(input) as tf.Tensor).dataSync(), (b.predict(input) as tf.Tensor).dataSync()]);
    expect(maxAbsDiff(x, y)).toBe(0);
    a.dispose();
    b.dispose();
  }, 120_000);

  it('refuses to overwrite its source, a file as out, and unknown options', async () => {
    const src = path.join(root, 'float32');
    await expect(exportTfjs(src, `${src}/`, { quantize: 'float16' })).rejects.toThrow(/is the source model's own directory/);
    await expect(exportTfjs(src, path.join(src, 'model.json'), { quantize: 'float16' })).rejects.toThrow(InputError);
    const file = path.join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(exportTfjs(model, file, { quantize: 'float16' })).rejects.toThrow(/is a file; expected a directory/);
    await expect(exportTfjs(model, path.join(root, 'x'), { quantise: 'uint8' } as never)).rejects.toThrow("unknown exportTfjs option 'quantise'; did you mean 'quantize'?");
    await expect(exportTfjs(model, path.join(root, 'x'), { quantize: 'int8' as never })).rejects.toThrow("quantize must be 'float16' or 'uint8'");
    await expect(exportTfjs(path.join(root, 'nothing-here'), path.join(root, 'y'))).rejects.toThrow(/cannot read the model/);
  });

  it('leaves no tensors behind', async () => {
    await exportTfjs(model, path.join(root, 'warm'), { quantize: 'uint8' });
    const before = tf.memory().numTensors;
    await exportTfjs(model, path.join(root, 'leak-1'), { quantize: 'uint8' });
    await exportTfjs(path.join(root, 'leak-1'), path.join(root, 'leak-2'), { quantize: 'float16' });
    await exportTfjs(path.join(root, 'leak-2'), path.join(root, 'leak-3'));
    expect(tf.memory().numTensors).toBe(before);
  });
});
