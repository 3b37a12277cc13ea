import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Data-parallel training from the built package: its worker threads must load dist/worker.js,
// not the TypeScript sources the other tests run from.
const root = path.resolve(import.meta.dirname, '..');

const script = (load: string) => `
${load}
const { tf } = lib;
tf.ready().then(async () => {
  const model = lib.mobileNetV2Mnist({ alpha: 0.35, seed: 1 });
  const labels = Int32Array.from({ length: 32 }, (_, i) => i % 10);
  const data = {
    length: 32, classNames: ['0','1','2','3','4','5','6','7','8','9'], inputShape: [28, 28, 1], mean: [0], std: [1],
    labels: () => labels,
    batch: async (idx) => ({ x: tf.randomNormal([idx.length, 28, 28, 1], 0, 1, 'float32', 1), y: tf.tensor1d(Array.from(idx, (i) => labels[i]), 'int32') }),
  };
  const result = await lib.train(model, data, { epochs: 1, batchSize: 16, seed: 1, workers: 2 });
  console.log(JSON.stringify({ epochs: result.epochs, finite: Number.isFinite(result.history[0].trainLoss), tensors: tf.memory().numTensors - model.weights.length }));
});`;

function run(args: string[]): { epochs: number; finite: boolean } {
  const out = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe.runIf(existsSync(path.join(root, 'dist/worker.js')))('built package with workers', () => {
  it('trains with 2 workers as ESM', () => {
    expect(run(['--input-type=module', '-e', script("import * as lib from 'mobilenetv2-tfjs';")])).toMatchObject({ epochs: 1, finite: true });
  }, 120_000);

  it('trains with 2 workers as CJS', () => {
    expect(run(['-e', script("const lib = require('mobilenetv2-tfjs');")])).toMatchObject({ epochs: 1, finite: true });
  }, 120_000);

  it('trains with 2 workers in a process started with V8 and process-wide flags (which a worker refuses)', () => {
    const flags = ['--max-old-space-size=6000', '--stack-size=900', '--no-wasm-dynamic-tiering', '--title=mnv2'];
    expect(run([...flags, '-e', script("const lib = require('mobilenetv2-tfjs');")])).toMatchObject({ epochs: 1, finite: true });
  }, 120_000);
});

it('builds the worker entry (npm test runs the build before vitest)', () => {
  expect(existsSync(path.join(root, 'dist/worker.js')), 'run `npm run build` first').toBe(true);
});
