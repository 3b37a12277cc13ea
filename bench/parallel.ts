/**
 * The `--workers` axis of the benchmark: `npm run bench -- --workers 2` (or `auto`).
 *
 * For each configuration, in the same run: this library with 1 worker, with N workers
 * (training), and PyTorch with N threads (scripts/torch_bench_parallel.py), each in its own process so
 * that every line's peak RSS is that configuration's own. Configurations: the seed MNIST model
 * at batch 64 (training) and evaluate over 10k images, and the ImageNet-shaped cases users
 * fine-tune at: α=1 at 224 (batch 16 train and infer, batch 32 train) and α=0.35 at 96
 * (batch 32 train and infer). Every line carries the 1-minute load average; on a shared machine
 * compare ratios within one run only. A last line gives the ratios.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';

interface Config { model: 'mnist' | 'imagenet'; alpha: number; size: number; batch: number; mode: 'train' | 'infer'; steps: number; warmup?: number; images?: number }

const CONFIGS: Config[] = [
  // Warm-up: two busy threads take ~100 small steps to reach their speed (steps 7–46 ran at
  // 1,434 img/s, 41–120 at 1,769, 151–250 at 1,925 on the seed model; one thread is near its
  // speed after a few steps), and a training run is thousands of steps.
  { model: 'mnist', alpha: 1, size: 28, batch: 64, mode: 'train', steps: 100, warmup: 150 },
  { model: 'mnist', alpha: 1, size: 28, batch: 256, mode: 'infer', steps: 1, images: 10_000 },
  { model: 'imagenet', alpha: 1, size: 224, batch: 16, mode: 'train', steps: 6, warmup: 4 },
  { model: 'imagenet', alpha: 1, size: 224, batch: 32, mode: 'train', steps: 4, warmup: 3 },
  { model: 'imagenet', alpha: 1, size: 224, batch: 16, mode: 'infer', steps: 1, images: 256 },
  { model: 'imagenet', alpha: 0.35, size: 96, batch: 32, mode: 'train', steps: 40, warmup: 40 },
  { model: 'imagenet', alpha: 0.35, size: 96, batch: 32, mode: 'infer', steps: 1, images: 2048 },
];

type Line = Record<string, unknown> & { imgPerSec?: number; warmImgPerSec?: number; peakRssMB?: number; error?: string };

function runJson(command: string, args: string[]): Line {
  const result = spawnSync(command, args, { cwd: resolve(import.meta.dirname, '..'), encoding: 'utf8', timeout: 900_000 });
  const last = result.stdout?.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as Line;
  } catch {
    return { error: (result.stderr || result.error?.message || `exit ${result.status}`).trim().split('\n').pop()! };
  }
}

const flags = (c: Config) => ['--model', c.model, '--alpha', String(c.alpha), '--size', String(c.size), '--batch', String(c.batch),
  '--mode', c.mode, '--steps', String(c.steps), ...(c.images ? ['--images', String(c.images)] : []),
  ...(c.warmup ? ['--warmup', String(c.warmup)] : [])];

/** Runs every configuration with 1 and `workers` workers and PyTorch with `torchThreads` threads; prints JSON lines. */
export function runParallelBench(workersOption: string, torchThreads?: number, torch = true): void {
  const workers = workersOption === 'auto' ? availableParallelism() : Number(workersOption);
  const threads = torchThreads ?? workers;
  const ratios: Record<string, number> = {};
  for (const config of CONFIGS) {
    const key = `${config.model === 'mnist' ? 'mnist' : `a${config.alpha}@${config.size}`} b${config.batch} ${config.mode}`;
    const lines: Line[] = [];
    const counts = [1, workers];
    for (const w of counts) {
      const load = loadavg()[0]!;
      const line = runJson(process.execPath, ['--import', 'tsx', 'bench/parallelCase.ts', ...flags(config), '--workers', String(w)]);
      lines.push(line);
      console.log(JSON.stringify({ case: key, ...line, workers: w, loadAvg1m: +load.toFixed(2) }));
    }
    let torchLine: Line | undefined;
    if (torch) {
      const load = loadavg()[0]!;
      torchLine = runJson('/usr/bin/python3', ['scripts/torch_bench_parallel.py', ...flags(config), '--threads', String(threads)]);
      console.log(JSON.stringify({ case: key, ...torchLine, loadAvg1m: +load.toFixed(2) }));
    }
    const [one, many] = [lines[0]?.imgPerSec, lines[lines.length - 1]?.imgPerSec];
    if (one && many && lines.length > 1) ratios[`${key}: ${workers} workers / 1`] = +(many / one).toFixed(2);
    if (many && torchLine?.imgPerSec) ratios[`${key}: ours / pytorch ${threads} threads`] = +(many / torchLine.imgPerSec).toFixed(2);
    // Inference: PyTorch's figure is a warm loop, so the like-for-like ratio is the warm one;
    // the ratio above includes starting the workers.
    const warmMany = Math.max(lines[0]?.warmImgPerSec ?? 0, lines[lines.length - 1]?.warmImgPerSec ?? 0);
    if (config.mode === 'infer' && warmMany && torchLine?.imgPerSec) {
      ratios[`${key}: ours warm / pytorch ${threads} threads`] = +(warmMany / torchLine.imgPerSec).toFixed(2);
    }
    const rss = lines[lines.length - 1]?.peakRssMB;
    if (rss && torchLine?.peakRssMB) ratios[`${key}: peak RSS ours / pytorch`] = +(rss / torchLine.peakRssMB).toFixed(2);
  }
  console.log(JSON.stringify({ ratios, workers, torchThreads: threads, loadAvg1m: +loadavg()[0]!.toFixed(2) }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--workers');
  runParallelBench(at >= 0 ? args[at + 1]! : 'auto', undefined, !args.includes('--no-torch'));
}
