import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// These run the built package (dist/) the way users import it, through the package's own
// "exports" map (Node resolves a package's own name from inside it). `npm test` builds first.
const root = path.resolve(import.meta.dirname, '..');
const names = ['mobileNetV2', 'mobileNetV2Mnist', 'makeDivisible', 'loadTorchWeights', 'saveTorchWeights', 'useBackend', 'summarize', 'tf'];

const script = (load: string) => `
${load}
const missing = ${JSON.stringify(names)}.filter((n) => !(n in lib));
if (missing.length) throw new Error('missing exports: ' + missing.join(', '));
lib.tf.ready().then(() => {
  const model = lib.mobileNetV2Mnist({ alpha: 0.35 });
  const y = model.predict(lib.tf.zeros([1, 28, 28, 1]));
  console.log(JSON.stringify({ backend: lib.tf.getBackend(), shape: y.shape, d: lib.makeDivisible(11.2) }));
});`;

function run(args: string[]): { backend: string; shape: number[]; d: number } {
  const out = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe.runIf(existsSync(path.join(root, 'dist/index.js')))('built package', () => {
  it('imports as ESM', () => {
    const result = run(['--input-type=module', '-e', script("import * as lib from 'mobilenetv2-tfjs';")]);
    expect(result).toEqual({ backend: 'wasm', shape: [1, 10], d: 16 });
  });

  it('requires as CJS', () => {
    const result = run(['-e', script("const lib = require('mobilenetv2-tfjs');")]);
    expect(result).toEqual({ backend: 'wasm', shape: [1, 10], d: 16 });
  });

  it('ships type declarations for both', () => {
    expect(existsSync(path.join(root, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(path.join(root, 'dist/index.d.cts'))).toBe(true);
  });
});

it('has been built (npm test runs the build before vitest)', () => {
  expect(existsSync(path.join(root, 'dist/index.js')), 'run `npm run build` first').toBe(true);
});
