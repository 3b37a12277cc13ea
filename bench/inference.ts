/**
 * The inference rows of `npm run bench` (also alone: `tsx bench/inference.ts [--no-torch]`).
 *
 * Three cases, each run by every engine in a process of its own (bench/inferenceCase.ts,
 * scripts/torch_infer_bench.py), so each line's peak RSS is that engine's own:
 * - `mnist`: `evaluate` of the seed MNIST model on the 10k MNIST test images, batch 256;
 * - `b32`: torchvision's MobileNetV2 (α 1, 224 px, 1,000 classes), 256 images at batch 32;
 * - `b1`: the same model's latency on one image.
 * Engines: the library on TF.js with 1 and N workers, the library on onnxruntime-node (N
 * threads), onnxruntime's own `session.run` on exportOnnx's file (N threads), and PyTorch
 * (`--torch-threads`, default 2). A last line gives the target ratios. On a shared
 * machine compare ratios within one run only; every line carries the 1-minute load average.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';

type Line = Record<string, unknown> & { imgPerSec?: number; msPerImage?: number; error?: string };

const ROOT = resolve(import.meta.dirname, '..');

function runJson(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Line {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 900_000, env });
  const last = result.stdout?.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as Line;
  } catch {
    return { error: (result.stderr || result.error?.message || `exit ${result.status}`).trim().split('\n').pop()! };
  }
}

const ratio = (a: number | undefined, b: number | undefined) => (a && b ? +(a / b).toFixed(2) : null);

/** Runs every case on every engine and prints one JSON line each, then the target ratios. */
export function runInferenceBench(options: { torch?: boolean; torchThreads?: number } = {}): void {
  const workers = availableParallelism();
  const torchThreads = options.torchThreads ?? 2;
  const engines: [string, string[]][] = [
    ['tfjs 1 worker', ['--engine', 'tfjs', '--workers', '1']],
    [`tfjs ${workers} workers`, ['--engine', 'tfjs', '--workers', String(workers)]],
    ['library onnxruntime', ['--engine', 'onnxruntime']],
    ['onnxruntime session.run', ['--engine', 'raw']],
  ];
  const rows = new Map<string, Line>();
  for (const name of ['mnist', 'b32', 'b1']) {
    for (const [engine, args] of engines) {
      // One image never starts a worker: the N-worker row would repeat the 1-worker one.
      if (name === 'b1' && workers > 1 && engine === `tfjs ${workers} workers`) continue;
      const load = loadavg()[0]!;
      const line = runJson(process.execPath, ['--import', 'tsx', 'bench/inferenceCase.ts', '--case', name, ...args]);
      rows.set(`${name} ${engine}`, line);
      console.log(JSON.stringify({ case: name, engine, ...line, loadAvg1m: +load.toFixed(2) }));
    }
    if (options.torch ?? true) {
      const load = loadavg()[0]!;
      const line = runJson('/usr/bin/python3', ['scripts/torch_infer_bench.py', '--case', name, '--threads', String(torchThreads)],
        { ...process.env, OMP_NUM_THREADS: String(torchThreads) });
      rows.set(`${name} pytorch`, line);
      console.log(JSON.stringify({ case: name, engine: `pytorch ${torchThreads} threads`, ...line, loadAvg1m: +load.toFixed(2) }));
    }
  }
  const get = (key: string) => rows.get(key);
  console.log(JSON.stringify({
    targets: {
      'b32: library onnxruntime / pytorch (>= 4)': ratio(get('b32 library onnxruntime')?.imgPerSec, get('b32 pytorch')?.imgPerSec),
      'b32: library onnxruntime / session.run (>= 0.9)': ratio(get('b32 library onnxruntime')?.imgPerSec, get('b32 onnxruntime session.run')?.imgPerSec),
      'b1: library onnxruntime ms / pytorch ms (<= 0.5)': ratio(get('b1 library onnxruntime')?.msPerImage, get('b1 pytorch')?.msPerImage),
      'mnist evaluate: library onnxruntime / pytorch (>= 3)': ratio(get('mnist library onnxruntime')?.imgPerSec, get('mnist pytorch')?.imgPerSec),
    },
    more: {
      'b32: library onnxruntime / tfjs 1 worker': ratio(get('b32 library onnxruntime')?.imgPerSec, get('b32 tfjs 1 worker')?.imgPerSec),
      'mnist: library onnxruntime / session.run': ratio(get('mnist library onnxruntime')?.imgPerSec, get('mnist onnxruntime session.run')?.imgPerSec),
      'b1: library onnxruntime ms / session.run ms': ratio(get('b1 library onnxruntime')?.msPerImage, get('b1 onnxruntime session.run')?.msPerImage),
    },
    workers, torchThreads, loadAvg1m: +loadavg()[0]!.toFixed(2),
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--torch-threads');
  runInferenceBench({ torch: !args.includes('--no-torch'), ...(at >= 0 && { torchThreads: Number(args[at + 1]) }) });
}
