import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { exportOnnx } from '../src/export/exportOnnx.js';
import { pretrainedMobileNetV2 } from '../src/pretrained/pretrainedMobileNetV2.js';
import { tf } from '../src/tf.js';
import { itWithTorch, PYTHON } from './fixtures/torch.js';
import { onnxFiles, relativeDiff, runOnnx } from './onnx.js';

// The same torchvision weights through PyTorch's torch.onnx.export (Debian's torch 1.13, opset
// 13) and through exportOnnx: both files run in onnxruntime-node on the same input and agree
// within 1e-4 of the logits' scale, and each agrees with PyTorch's own eval output.
const ROOT = path.resolve(import.meta.dirname, '..');
let dir: string;
const files = onnxFiles(() => dir);

beforeAll(async () => {
  await tf.setBackend('wasm');
  dir = mkdtempSync(path.join(tmpdir(), 'onnx-torch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exportOnnx against torch.onnx.export of the same weights', () => {
  const cases = [
    { name: 'a1.0_224_1000', alpha: 1, size: [224, 224], classes: 1000 },
    { name: 'a0.35_96x128_10', alpha: 0.35, size: [96, 128], classes: 10 },
    { name: 'a0.75_160_5', alpha: 0.75, size: [160, 160], classes: 5 },
  ];
  for (const c of cases) {
    itWithTorch(`${c.name}: both files give the same logits in onnxruntime`, async () => {
      const out = path.join(dir, c.name);
      const made = spawnSync(PYTHON, [path.join(ROOT, 'scripts/torch_onnx_export.py'), out, '--alpha', String(c.alpha), '--size', ...c.size.map(String), '--classes', String(c.classes), '--seed', '3'], { encoding: 'utf8' });
      expect(made.status, made.stderr).toBe(0);
      const io = JSON.parse(readFileSync(path.join(out, 'io.json'), 'utf8')) as { shape: number[]; input: number[]; logits: number[] };
      files.track(path.join(out, 'torch.onnx'));

      const model = await pretrainedMobileNetV2({ file: path.join(out, 'weights.pth'), inputSize: c.size as [number, number] });
      const ours = files.write(`${c.name}.onnx`, await exportOnnx(model));
      model.dispose();
      const input = Float32Array.from(io.input);
      const [theirs, mine] = [await runOnnx(path.join(out, 'torch.onnx'), input, io.shape), await runOnnx(ours, input, io.shape)];
      expect(mine.name).toBe('logits');
      expect(mine.dims).toEqual(theirs.dims);
      expect(relativeDiff(mine.data, theirs.data)).toBeLessThan(1e-4);
      expect(relativeDiff(mine.data, io.logits)).toBeLessThan(1e-4);
      expect(relativeDiff(theirs.data, io.logits)).toBeLessThan(1e-4);
    }, 180_000);
  }
});

files.itChecksAll();
