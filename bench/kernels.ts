/**
 * Every forward kernel this library overrides against the stock TF.js kernel it replaced:
 * `npm run bench:kernels [-- --backends wasm,cpu --reps 9 --filter Conv2D --cpu-batch32]`.
 *
 * Shapes come from common models other than MobileNetV2 (VGG/ResNet 3×3 convs with as many
 * channels out as in, a 1×1 classifier conv at 7×7×1024 → 1000, ResNet-50's 1×1 convs,
 * MobileNetV3/EfficientNet 5×5 depthwise convs), at batch 1 and 32, plus MobileNetV2's own shapes
 * for contrast.
 *
 * Per case and backend, three functions run interleaved in one process, so that load on a
 * shared machine hits them alike: `stock` (TF.js's kernel), `ours` (this library's kernel called
 * directly, with no dispatch rule: the raw comparison) and `registered` (what TF.js runs after
 * the import: the dispatch rule of src/backend/kernels/dispatch.ts, then ours or stock).
 * A sample repeats the call until it lasts ≥ 20 ms; after a warm-up, `--reps` rounds take one
 * sample of each. Times are medians over the rounds. Ratios compare each kernel's fastest round:
 * other jobs on a shared machine only ever add time, so the minimum is the least disturbed
 * estimate (`pairedRatio`, the median of per-round ratios, is in the JSON lines too).
 * `dispatched` says which kernel the registered one chose; a fallback counts as equal to stock.
 * One JSON line per case, then a Markdown table and a line naming any case where dispatch still
 * runs ours although it is more than 5% slower.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { KernelBackend, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf, useBackend } from '../src/index.js';
import { convForward } from '../src/backend/kernels/convForward.js';
import { SIMD_KERNELS, stockKernel } from '../src/backend/registerKernels.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { cpuHeap, type CpuBackendLike, type Heap, wasmHeap } from '../src/backend/simd/heap.js';
import { RejectedInput } from '../src/backend/kernels/validate.js';

/** Our kernel declined the input (returned null, or rejected it): stock runs. */
class Declined extends Error {}

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    reps: { type: 'string', default: '9' },
    // A substring of `kernel model shape`, e.g. `--filter 3x3` or `--filter FusedConv2D`.
    filter: { type: 'string', default: '' },
    // Stock cpu convs at batch 32 take seconds per call; off by default.
    'cpu-batch32': { type: 'boolean', default: false },
  },
});

type Backend = 'wasm' | 'cpu';
type Impl = (inputs: NamedTensorInfoMap, attrs: NamedAttrMap) => TensorInfo | TensorInfo[];

interface Case {
  kernel: string;
  model: string;
  /** Input shape and what else defines the case, for the table. */
  shape: string;
  batch: number;
  /** Inputs and attrs; the tensors are disposed after the case. */
  make(): { inputs: Record<string, tf.Tensor>; attrs: NamedAttrMap };
}

const rand = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', 1);

function conv(
  kernel: 'Conv2D' | 'FusedConv2D', model: string, batch: number, size: number, cin: number, cout: number, k: number, stride = 1,
): Case {
  return {
    kernel, model, batch,
    shape: `${k}x${k} s${stride} ${size}x${size}x${cin}→${cout}`,
    make: () => ({
      inputs: {
        x: rand([batch, size, size, cin]),
        filter: rand([k, k, cin, cout]),
        ...(kernel === 'FusedConv2D' ? { bias: rand([cout]) } : {}),
      },
      attrs: {
        strides: [stride, stride], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined,
        ...(kernel === 'FusedConv2D' ? { activation: 'relu' } : {}),
      } as unknown as NamedAttrMap,
    }),
  };
}

function depthwise(
  kernel: 'DepthwiseConv2dNative' | 'FusedDepthwiseConv2D', model: string, batch: number, size: number, channels: number,
  k: number, stride = 1,
): Case {
  return {
    kernel, model, batch,
    shape: `dw ${k}x${k} s${stride} ${size}x${size}x${channels}`,
    make: () => ({
      inputs: {
        x: rand([batch, size, size, channels]),
        filter: rand([k, k, channels, 1]),
        ...(kernel === 'FusedDepthwiseConv2D' ? { bias: rand([channels]) } : {}),
      },
      attrs: {
        strides: [stride, stride], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined,
        ...(kernel === 'FusedDepthwiseConv2D' ? { activation: 'relu6' } : {}),
      } as unknown as NamedAttrMap,
    }),
  };
}

function elementwise(kernel: string, model: string, shape: number[], make: Case['make']): Case {
  return { kernel, model, batch: shape[0]!, shape: shape.join('x'), make };
}

function cases(): Case[] {
  const list: Case[] = [];
  for (const batch of [1, 32]) {
    for (const [size, c] of [[56, 64], [28, 128], [14, 256], [7, 512]] as const) {
      for (const kernel of ['Conv2D', 'FusedConv2D'] as const) list.push(conv(kernel, 'VGG/ResNet', batch, size, c, c, 3));
    }
    for (const kernel of ['Conv2D', 'FusedConv2D'] as const) list.push(conv(kernel, '1x1 classifier', batch, 7, 1024, 1000, 1));
    // ResNet-50 bottleneck 1×1s and its strided projection shortcut.
    list.push(conv('FusedConv2D', 'ResNet-50', batch, 56, 64, 256, 1));
    list.push(conv('FusedConv2D', 'ResNet-50', batch, 56, 256, 64, 1));
    list.push(conv('FusedConv2D', 'ResNet-50', batch, 14, 1024, 256, 1));
    list.push(conv('FusedConv2D', 'ResNet-50', batch, 56, 256, 512, 1, 2));
    list.push(conv('FusedConv2D', 'ResNet-50', batch, 14, 256, 1024, 1));
    list.push(conv('FusedConv2D', 'ResNet-50', batch, 7, 512, 2048, 1));
    // A 1×1 head to 3 channels (RGB output of an image-to-image model).
    list.push(conv('FusedConv2D', 'RGB head', batch, 56, 64, 3, 1));
    // MobileNetV3 / EfficientNet-B0 5×5 depthwise stages.
    for (const [size, c, s] of [[56, 72, 2], [28, 240, 1], [14, 672, 1], [7, 1152, 1]] as const) {
      for (const kernel of ['DepthwiseConv2dNative', 'FusedDepthwiseConv2D'] as const) {
        list.push(depthwise(kernel, 'MNv3/EffNet', batch, size, c, 5, s));
      }
    }
    // MobileNetV2 at 224 for contrast: stem, expand/project 1×1s, 3×3 depthwise, last conv.
    list.push(conv('FusedConv2D', 'MobileNetV2-224', batch, 224, 3, 32, 3, 2));
    list.push(conv('FusedConv2D', 'MobileNetV2-224', batch, 112, 16, 96, 1));
    list.push(conv('FusedConv2D', 'MobileNetV2-224', batch, 56, 24, 144, 1));
    list.push(conv('FusedConv2D', 'MobileNetV2-224', batch, 28, 192, 32, 1));
    list.push(conv('FusedConv2D', 'MobileNetV2-224', batch, 7, 320, 1280, 1));
    list.push(depthwise('FusedDepthwiseConv2D', 'MobileNetV2-224', batch, 112, 32, 3));
    list.push(depthwise('FusedDepthwiseConv2D', 'MobileNetV2-224', batch, 14, 384, 3));
  }
  // The seed MNIST model's training batch: its stem and two 1×1s.
  list.push(conv('Conv2D', 'MobileNetV2-MNIST', 64, 28, 1, 32, 3, 2));
  list.push(conv('Conv2D', 'MobileNetV2-MNIST', 64, 7, 64, 384, 1));
  list.push(conv('Conv2D', 'MobileNetV2-MNIST', 64, 14, 32, 192, 1));

  // The other forward kernels, at activation shapes of the convs above.
  const act = [32, 28, 28, 128];
  const channels = act[3]!;
  list.push(elementwise('FusedBatchNorm', 'BatchNorm', act, () => ({
    inputs: { x: rand(act), mean: rand([channels]), variance: tf.randomUniform([channels], 0.5, 2), offset: rand([channels]), scale: rand([channels]) },
    attrs: { varianceEpsilon: 1e-3 },
  })));
  list.push(elementwise('PadV2', 'ZeroPadding2D', [32, 56, 56, 64], () => ({
    inputs: { x: rand([32, 56, 56, 64]) },
    attrs: { paddings: [[0, 0], [1, 1], [1, 1], [0, 0]], constantValue: 0 } as unknown as NamedAttrMap,
  })));
  list.push(elementwise('PadV2', 'ZeroPadding2D', [1, 224, 224, 3], () => ({
    inputs: { x: rand([1, 224, 224, 3]) },
    attrs: { paddings: [[0, 0], [0, 1], [0, 1], [0, 0]], constantValue: 0 } as unknown as NamedAttrMap,
  })));
  list.push(elementwise('Slice', 'crop', [32, 57, 57, 64], () => ({
    inputs: { x: rand([32, 57, 57, 64]) },
    attrs: { begin: [0, 1, 1, 0], size: [32, 56, 56, 64] } as unknown as NamedAttrMap,
  })));
  for (const kernel of ['Relu', 'Square']) list.push(elementwise(kernel, 'activation', act, () => ({ inputs: { x: rand(act) }, attrs: {} })));
  for (const kernel of ['Minimum', 'Maximum']) {
    list.push(elementwise(kernel, 'ReLU6 (scalar)', act, () => ({ inputs: { a: rand(act), b: tf.scalar(6) }, attrs: {} })));
  }
  for (const kernel of ['Add', 'Sub', 'Multiply', 'RealDiv']) {
    list.push(elementwise(kernel, 'per-channel', act, () => ({ inputs: { a: rand(act), b: rand([channels]) }, attrs: {} })));
    list.push(elementwise(kernel, 'same shape', act, () => ({ inputs: { a: rand(act), b: rand(act) }, attrs: {} })));
  }
  for (const kernel of ['Sum', 'Mean']) {
    list.push(elementwise(kernel, 'over N,H,W', act, () => ({ inputs: { x: rand(act) }, attrs: { axis: [0, 1, 2], keepDims: false } as unknown as NamedAttrMap })));
  }
  // Global average pooling (a run of middle axes), at MobileNetV2's, ResNet's and EfficientNet's heads.
  for (const shape of [[32, 7, 7, 1280], [1, 7, 7, 1280], [8, 7, 7, 2048], [32, 28, 28, 128], [2, 3, 3, 5]]) {
    list.push(elementwise('Mean', 'over H,W', shape, () => ({ inputs: { x: rand(shape) }, attrs: { axis: [1, 2], keepDims: false } as unknown as NamedAttrMap })));
  }
  // BatchNorm on wide rows, and ReLU6.
  const wide = [16, 56, 56, 144];
  list.push(elementwise('FusedBatchNorm', 'BatchNorm, 144 channels', wide, () => ({
    inputs: { x: rand(wide), mean: rand([144]), variance: tf.randomUniform([144], 0.5, 2), offset: rand([144]), scale: rand([144]) },
    attrs: { varianceEpsilon: 1e-3 },
  })));
  list.push(elementwise('Relu6', 'activation', act, () => ({ inputs: { x: rand(act) }, attrs: {} })));
  list.push(elementwise('Identity', 'identity', act, () => ({ inputs: { x: rand(act) }, attrs: {} })));
  list.push(elementwise('Cast', 'float32→float32', act, () => ({ inputs: { x: rand(act) }, attrs: { dtype: 'float32' } as unknown as NamedAttrMap })));
  return list;
}

const CONV_KERNELS = ['Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D'];

/**
 * Our kernel without the dispatch rule: for convs the shared forward itself (also where it is not
 * registered, e.g. depthwise on wasm, to show why), else the SIMD kernel's `run`.
 */
function rawOurs(kernelName: string, backend: Backend, heap: Heap): Impl | null {
  const simd = SIMD_KERNELS.find((k) => k.kernelName === kernelName && (!k.backends || k.backends.includes(backend)));
  if (CONV_KERNELS.includes(kernelName)) {
    const depthwise = kernelName.includes('Depthwise');
    return (inputs, attrs) => {
      const { x, filter, bias } = inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo };
      const out = convForward(heap, x, filter, attrs as never, depthwise, bias, attrs.activation as string | undefined, { dispatch: false });
      if (out === null) throw new Declined('declined');
      return out;
    };
  }
  if (simd) {
    return (inputs, attrs) => {
      const out = simd.run(heap, inputs, attrs);
      if (out === null) throw new Declined('declined');
      return out;
    };
  }
  // Identity and Cast on wasm are whole KernelConfigs, with no separate raw form.
  const registered = tf.getKernel(kernelName, backend);
  if (registered && stockKernel(kernelName, backend)) {
    return (inputs, attrs) => registered.kernelFunc({ inputs, attrs, backend: tf.backend() }) as TensorInfo;
  }
  return null;
}

/** Whether the registered kernel runs ours (true) or falls back to stock (false) for this case. */
function dispatchesToOurs(kernelName: string, backend: Backend, heap: Heap, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): boolean {
  const simd = SIMD_KERNELS.find((k) => k.kernelName === kernelName && (!k.backends || k.backends.includes(backend)));
  // Identity and Cast on wasm are ours wherever registered; a conv not registered on this backend is stock.
  if (!simd) return stockKernel(kernelName, backend) !== undefined;
  let out: TensorInfo | TensorInfo[] | null;
  try {
    out = simd.run(heap, inputs, attrs);
  } catch (error) {
    if (error instanceof Declined || error instanceof RejectedInput) return false;
    throw error;
  }
  if (out === null) return false;
  dispose(tf.backend(), out);
  return true;
}

function dispose(backend: KernelBackend, out: TensorInfo | TensorInfo[]): void {
  // Not forced: Identity, Cast and whole-tensor slices share their input's buffer.
  for (const t of [out].flat()) backend.disposeData(t.dataId);
}

/** Milliseconds per call of one sample of `iters` calls. */
function sample(fn: () => TensorInfo | TensorInfo[], iters: number, backend: KernelBackend): number {
  const start = performance.now();
  for (let i = 0; i < iters; i++) dispose(backend, fn());
  return (performance.now() - start) / iters;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The largest |a − b| / (1 + |b|) over the elements. */
function relativeDiff(backend: KernelBackend, a: TensorInfo, b: TensorInfo): number {
  const va = backend.readSync(a.dataId) as Float32Array;
  const vb = backend.readSync(b.dataId) as Float32Array;
  let worst = 0;
  for (let i = 0; i < va.length; i++) worst = Math.max(worst, Math.abs(va[i]! - vb[i]!) / (1 + Math.abs(vb[i]!)));
  return va.length === vb.length ? worst : Infinity;
}

interface Row {
  backend: string; kernel: string; model: string; shape: string; batch: number;
  stockMs: number; oursMs: number; registeredMs: number; ratio: number; dispatched: 'ours' | 'stock'; dispatchedRatio: number;
  pairedRatio: number; maxRelDiff: number;
}

const rows: Row[] = [];
const reps = Number(values.reps);
const load = () => +loadavg()[0]!.toFixed(2);
for (const backendName of values.backends.split(',') as Backend[]) {
  await useBackend(backendName);
  const backend = tf.backend();
  const heap = backendName === 'wasm' ? wasmHeap(backend as BackendWasm) : cpuHeap(backend as unknown as CpuBackendLike);
  for (const c of cases()) {
    if (!`${c.kernel} ${c.model} ${c.shape}`.includes(values.filter)) continue;
    if (backendName === 'cpu' && c.batch === 32 && c.kernel.includes('Conv') && !values['cpu-batch32']) continue;
    // A kernel this library does not register on a backend is its stock kernel there.
    const stock = stockKernel(c.kernel, backendName) ?? tf.getKernel(c.kernel, backendName);
    const ours = rawOurs(c.kernel, backendName, heap);
    if (!stock || !ours) continue; // not overridden on this backend
    const registered = tf.getKernel(c.kernel, backendName)!;
    const { inputs, attrs } = c.make();
    const impls: Record<'stock' | 'ours' | 'registered', () => TensorInfo | TensorInfo[]> = {
      stock: () => stock.kernelFunc({ inputs, attrs, backend }) as TensorInfo,
      ours: () => ours(inputs, attrs),
      registered: () => registered.kernelFunc({ inputs, attrs, backend }) as TensorInfo,
    };
    let oursRuns = true;
    try {
      dispose(backend, impls.ours());
    } catch (error) {
      if (!(error instanceof Declined || error instanceof RejectedInput)) throw error;
      oursRuns = false; // our kernel declines this input by design: stock runs
    }
    const dispatched = dispatchesToOurs(c.kernel, backendName, heap, inputs, attrs) ? 'ours' : 'stock';
    let maxRelDiff = 0;
    if (oursRuns) {
      const [a, b] = [impls.ours(), impls.stock()] as TensorInfo[];
      maxRelDiff = relativeDiff(backend, a!, b!);
      dispose(backend, [a!, b!]);
    }
    // Warm-up, and the number of calls that makes a sample last ≥ 20 ms.
    const names = (oursRuns ? ['stock', 'ours', 'registered'] : ['stock', 'registered']) as (keyof typeof impls)[];
    const iters = Math.max(1, Math.min(200, Math.ceil(20 / sample(impls.stock, 1, backend))));
    for (const name of names) sample(impls[name], 1, backend);
    const times: Record<string, number[]> = { stock: [], ours: [], registered: [] };
    for (let r = 0; r < reps; r++) {
      for (const name of r % 2 ? [...names].reverse() : names) times[name]!.push(sample(impls[name], iters, backend));
    }
    tf.dispose(Object.values(inputs));
    const stockMs = median(times.stock!);
    const oursMs = oursRuns ? median(times.ours!) : NaN;
    const registeredMs = median(times.registered!);
    const pairedRatio = (name: string) => median(times[name]!.map((t, r) => t / times.stock![r]!));
    const minRatio = (name: string) => Math.min(...times[name]!) / Math.min(...times.stock!);
    const row: Row = {
      backend: backendName, kernel: c.kernel, model: c.model, shape: c.shape, batch: c.batch,
      stockMs: +stockMs.toFixed(3), oursMs: +oursMs.toFixed(3), registeredMs: +registeredMs.toFixed(3),
      ratio: oursRuns ? +minRatio('ours').toFixed(3) : NaN, dispatched,
      dispatchedRatio: dispatched === 'stock' ? 1 : +minRatio('registered').toFixed(3),
      pairedRatio: oursRuns ? +pairedRatio('ours').toFixed(3) : NaN,
      maxRelDiff: +maxRelDiff.toExponential(1),
    };
    rows.push(row);
    console.log(JSON.stringify({ ...row, loadAvg1m: load() }));
  }
}

// ours/stock > 1 is slower. A ratio under 1.05 at dispatch passes; the raw ratio shows why a rule exists.
const fmt = (ms: number) => (Number.isNaN(ms) ? '–' : ms < 10 ? ms.toFixed(2) : ms.toFixed(0));
console.log(`\nload average (1/5/15 min): ${loadavg().map((l) => l.toFixed(2)).join(' / ')}\n`);
console.log('| backend | kernel | model | shape | batch | stock ms | ours ms | ours/stock | dispatched | dispatched/stock |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ratio = Number.isNaN(r.ratio) ? 'declines' : r.ratio.toFixed(2);
  const dispatched = r.dispatched === 'stock' ? 'stock' : 'ours';
  const dratio = r.dispatched === 'stock' ? '1 (stock)' : r.dispatchedRatio.toFixed(2);
  console.log(`| ${r.backend} | ${r.kernel} | ${r.model} | ${r.shape} | ${r.batch} | ${fmt(r.stockMs)} | ${fmt(r.oursMs)} | ${ratio} | ${dispatched} | ${dratio} |`);
}
const slower = rows.filter((r) => r.dispatched === 'ours' && r.ratio > 1.05);
console.log(`\nours > 5% slower than stock where dispatch still runs ours: ${slower.length === 0 ? 'none' : slower.map((r) => `${r.backend} ${r.kernel} ${r.shape} b${r.batch} (${r.ratio})`).join('; ')}`);
