/**
 * For tests that write ONNX files: every file goes through ONNX's own checker (Debian's
 * python3-onnx, `onnx.checker.check_model(..., full_check=True)`, scripts/check_onnx.py), and
 * runs in onnxruntime-node. In CI (`CI=true`, .ci/run installs python3-onnx) a missing checker
 * fails the check rather than skipping it.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { PYTHON } from './fixtures/torch.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Why ONNX's checker cannot run here, or null when it can. */
export const onnxMissing: string | null =
  spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0 ? null : `${PYTHON} cannot import onnx (apt-get install python3-onnx)`;

const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** What scripts/check_onnx.py reports for a file that passed. */
export interface CheckedOnnx {
  file: string;
  ir_version: number;
  opset: Record<string, number>;
  producer: [string, string];
  inputs: Record<string, (number | string)[]>;
  outputs: Record<string, (number | string)[]>;
  metadata: Record<string, unknown>;
  ops: string[];
}

/**
 * Collects the ONNX files a test file writes; `itChecksAll()` adds the test that runs ONNX's
 * checker over every one of them (last in the file: vitest runs a file's tests in order).
 */
export function onnxFiles(dir: () => string) {
  const files: string[] = [];
  const reports = new Map<string, CheckedOnnx>();
  return {
    /** Writes `bytes` to `name` in the test's directory and records it for the checker. */
    write(name: string, bytes: Uint8Array): string {
      const file = path.join(dir(), name);
      writeFileSync(file, bytes);
      files.push(file);
      return file;
    },
    /** Records a file written by other means (the CLI) for the checker. */
    track(file: string): void {
      files.push(file);
    },
    reports,
    itChecksAll(): void {
      const name = 'every ONNX file written here passes onnx.checker.check_model(full_check=True)';
      if (onnxMissing !== null && !inCI) {
        console.info(`skipping "${name}": ${onnxMissing}`);
        it.skip(name, () => {});
        return;
      }
      it(name, () => {
        if (onnxMissing !== null) throw new Error(`${onnxMissing}; CI must run ONNX's checker (.ci/run installs it)`);
        expect(files.length).toBeGreaterThan(0);
        const run = spawnSync(PYTHON, [path.join(ROOT, 'scripts/check_onnx.py'), ...files], { encoding: 'utf8' });
        expect(run.status, run.stderr).toBe(0);
        const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as CheckedOnnx);
        expect(lines.map((l) => l.file)).toEqual(files);
        for (const l of lines) {
          expect(l.opset, l.file).toEqual({ '': 13 });
          expect(l.ir_version, l.file).toBe(7);
          reports.set(l.file, l);
        }
      }, 120_000);
    },
  };
}

/** Runs an ONNX file (or bytes) in onnxruntime-node on `input` (its layout), returning the first output. */
export async function runOnnx(model: string | Uint8Array, input: Float32Array, dims: number[], threads = 2): Promise<{ data: Float32Array; dims: number[]; name: string }> {
  const session = await ort.InferenceSession.create(model as Uint8Array, { intraOpNumThreads: threads });
  try {
    const name = session.outputNames[0]!;
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) });
    return { data: out[name]!.data as Float32Array, dims: [...out[name]!.dims], name };
  } finally {
    await session.release();
  }
}

/** max |a − b| / max |b|: a difference relative to the reference's scale. */
export function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** NHWC → NCHW of a flat [n, h, w, c] array. */
export function toNchw(x: ArrayLike<number>, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(n! * h! * w! * c!);
  for (let b = 0; b < n!; b++) for (let y = 0; y < h!; y++) for (let z = 0; z < w!; z++) for (let k = 0; k < c!; k++) {
    out[((b * c! + k) * h! + y) * w! + z] = x[((b * h! + y) * w! + z) * c! + k]!;
  }
  return out;
}
