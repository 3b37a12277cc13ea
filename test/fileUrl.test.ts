import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mobileNetV2 } from '../src/models/mobilenetv2.js';
import { tf } from '../src/tf.js';
import { randomizeBatchNorm } from './randomBatchNorm.js';

// Separate processes on the built package (dist/), as users run it; `npm test` builds first.
const root = path.resolve(import.meta.dirname, '..');
const built = existsSync(path.join(root, 'dist/index.js'));

describe.runIf(built)('file:// in a fresh process', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('a model saved with model.save(file://) loads in stock TF.js through the documented loaders, same logits and metadata', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'file-url-')), 'model');
    const model = mobileNetV2({ numClasses: 4, alpha: 0.35, inputShape: [96, 96, 3], seed: 3 });
    randomizeBatchNorm(model, 5);
    const metadata = { classNames: ['a', 'b', 'c', 'd'], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], inputShape: [96, 96, 3] };
    model.setUserDefinedMetadata(metadata);
    await model.save(`file://${dir}`);
    const x = tf.randomUniform([2, 96, 96, 3], -2, 2, 'float32', 9);
    const logits = model.predict(x) as tf.Tensor;
    const expected = Array.from(await logits.data());
    const input = Array.from(await x.data());
    tf.dispose([x, logits]);
    model.dispose();

    // Stock TF.js: its own cpu kernels (restoreStockKernels puts back everything importing the
    // library replaced), loading through the two documented ways, file:// and fileSystem(dir).
    const script = `
import * as tf from '@tensorflow/tfjs';
import { fileSystem, restoreStockKernels } from 'mobilenetv2-tfjs';
import { readFileSync } from 'node:fs';
restoreStockKernels();
await tf.setBackend('cpu');
const input = JSON.parse(readFileSync(0, 'utf8'));
const out = {};
for (const [name, source] of [['url', 'file://${dir}/model.json'], ['fileSystem', fileSystem('${dir}')]]) {
  const model = await tf.loadLayersModel(source);
  const y = model.predict(tf.tensor4d(input, [2, 96, 96, 3]));
  out[name] = { logits: Array.from(await y.data()), metadata: model.getUserDefinedMetadata() };
}
console.log(JSON.stringify(out));`;
    // stderr piped: stock cpu greets its first tensor with the "install tfjs-node" banner.
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, input: JSON.stringify(input), encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, { logits: number[]; metadata: unknown }>;
    for (const { logits: got, metadata: meta } of Object.values(out)) {
      expect(meta).toEqual(metadata);
      expect(got).toHaveLength(expected.length);
      got.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(expected[i]!))));
    }
  });
});

// How each way of starting wasm meets an error in the user's own code: emscripten's listeners
// would rethrow it from tf-backend-wasm.node.js with exit code 7; importing the library wraps
// wasm's start, so each way ends as without TF.js.
const STARTS = {
  useBackend: "await lib.useBackend('wasm');",
  setBackend: "await lib.tf.setBackend('wasm'); await lib.tf.ready();",
  ready: 'await lib.tf.ready();',
} as const;
const FAILURES = {
  // An exception thrown from a timer: 'uncaughtException'.
  throw: 'function userCode() { throw new Error("user boom"); }\nsetTimeout(userCode, 0);',
  // A promise nobody awaits rejects: 'unhandledRejection'.
  reject: 'async function userCode() { await null; throw new Error("user boom"); }\nuserCode();',
  // The user's own handler, added after wasm started, picks the exit code.
  handler: 'process.on("uncaughtException", () => process.exit(42));\nfunction userCode() { throw new Error("user boom"); }\nsetTimeout(userCode, 0);',
} as const;

function runUserScript(kind: 'esm' | 'cjs', start: keyof typeof STARTS, failure: keyof typeof FAILURES) {
  const body = `${STARTS[start]}\nif (lib.tf.getBackend() !== 'wasm') { console.error('not on wasm'); process.exit(99); }\n${FAILURES[failure]}`;
  const script = kind === 'esm'
    ? `import * as lib from 'mobilenetv2-tfjs';\n${body}`
    : `const lib = require('mobilenetv2-tfjs');\n(async () => {\n${body}\n})();`;
  const args = kind === 'esm' ? ['--input-type=module', '-e', script] : ['-e', script];
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

describe.runIf(built)('an error in user code after wasm starts', () => {
  for (const kind of ['esm', 'cjs'] as const) {
    for (const start of Object.keys(STARTS) as (keyof typeof STARTS)[]) {
      it(`${kind}, ${start}: the user's exit code and stack, not exit 7 from the wasm module`, () => {
        for (const failure of ['throw', 'reject'] as const) {
          const { status, stderr } = runUserScript(kind, start, failure);
          expect(status, `${failure}: ${stderr}`).toBe(1);
          expect(stderr).toContain('Error: user boom');
          expect(stderr).toMatch(/at (Timeout\.)?userCode/);
          expect(stderr).not.toContain('tf-backend-wasm');
        }
        const { status, stderr } = runUserScript(kind, start, 'handler');
        expect(status, stderr).toBe(42);
      });
    }
  }
});
