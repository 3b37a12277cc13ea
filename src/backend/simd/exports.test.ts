import { describe, expect, it } from 'vitest';
import { bindKernels, convGeometry, dims4, type SimdExports, type SimdKernels } from './exports.js';
import { kernelsModule } from './module.js';
import { BinaryOp, MaskFlag, ScalarOp } from './ops.js';

const Wasm = (globalThis as unknown as {
  WebAssembly: {
    Memory: new (d: { initial: number }) => object;
    Instance: new (m: object, i: object) => { exports: Record<string, (...args: number[]) => void> };
  };
}).WebAssembly;

const real = new Wasm.Instance(kernelsModule(false), { env: { memory: new Wasm.Memory({ initial: 2 }) } }).exports;

/** Exports that record their calls instead of running: name, arguments, and the wasm function's arity. */
function recorder(): { exports: SimdExports; calls: { name: string; args: number[]; arity: number }[] } {
  const calls: { name: string; args: number[]; arity: number }[] = [];
  const exports = Object.fromEntries(Object.entries(real).filter(([, f]) => typeof f === 'function').map(([name, f]) => [
    name, (...args: number[]) => { calls.push({ name, args, arity: f.length }); },
  ]));
  return { exports: exports as unknown as SimdExports, calls };
}

const g = convGeometry({
  batchSize: 2, inHeight: 9, inWidth: 8, inChannels: 3, outHeight: 5, outWidth: 4, outChannels: 6,
  filterHeight: 3, filterWidth: 2, strideHeight: 2, strideWidth: 2, dilationHeight: 1, dilationWidth: 1,
  padInfo: { top: 1, left: 0, bottom: 1, right: 0, type: 'SAME' },
} as Parameters<typeof convGeometry>[0], 6);

/** One call of every binding, with distinct arguments. */
const CALLS: ((k: SimdKernels) => void)[] = [
  (k) => k.conv2d(1, 2, 3, g),
  (k) => k.conv2dBackpropFilter(1, 2, 3, g),
  (k) => k.conv2dBackpropInput(1, 2, 3, g, 4),
  (k) => k.depthwiseConv2d(1, 2, 3, g),
  (k) => k.depthwiseBackpropFilter(1, 2, 3, g),
  (k) => k.depthwiseBackpropInput(1, 2, 3, g),
  (k) => k.batchNorm({ x: 1, mean: 2, variance: 3, scale: 4, offset: 5, epsilon: 1e-3, rows: 6, channels: 7, y: 8, scratch: 9 }),
  (k) => k.batchNormGrad({
    dy: 1, x: 2, mean: 3, variance: 4, scale: 5, epsilon: 1e-3, rows: 6, channels: 7, dx: 8, dmean: 9, dvariance: 10,
    dscale: 11, doffset: 12, scratch: 13, batchStatistics: true,
  }),
  (k) => k.movingAverage(1, 2, 3, 4, 0.1),
  (k) => k.reduceRows(1, 2, { rows: 3, channels: 4 }, 0.5),
  (k) => k.batchMoments(1, 2, 3, { rows: 4, channels: 5 }),
  (k) => k.broadcastRows(1, 2, { rows: 3, channels: 4 }, 3),
  (k) => k.maskGrad(1, 2, 3, 4, { lo: 0, hi: 6, flags: MaskFlag.HiClosed }),
  (k) => k.scalarMinMax(1, 6, 2, 3, ScalarOp.Relu6),
  (k) => k.binaryRows(1, 2, 3, { rows: 4, channels: 5 }, BinaryOp.Sub, true),
  (k) => k.squareGrad(1, 2, 3, 4),
  (k) => k.slice(1, 2, [2, 3, 4, 5], [0, 1, 1, 2], [2, 2, 3, 3]),
  (k) => k.pad(1, 2, [1, 3, 4, 5], [0, 1, -1, 2], [1, 5, 3, 9], 0.5),
  (k) => k.adam({
    value: 1, m: 2, v: 3, gradient: 4, newValue: 5, newM: 6, newV: 7, size: 8, beta1: 0.9, beta2: 0.999,
    biasCorrection1: 0.1, biasCorrection2: 0.001, epsilon: 1e-8, learningRate: 1e-3,
  }),
];

describe('bindKernels', () => {
  it('passes every export exactly as many arguments as its C function takes, and reaches each of them', () => {
    const { exports, calls } = recorder();
    const kernels = bindKernels(exports);
    for (const call of CALLS) call(kernels);
    for (const { name, args, arity } of calls) expect(args.length, name).toBe(arity);
    expect(calls.map((c) => c.name).sort()).toEqual(Object.keys(exports).sort());
  });

  it('lays out the conv geometry in the C order: N H W C OH OW channels KH KW SH SW PT PL (DH DW)', () => {
    const { exports, calls } = recorder();
    const kernels = bindKernels(exports);
    kernels.conv2d(1, 2, 3, g);
    kernels.conv2dBackpropInput(1, 2, 3, g, 4);
    expect(calls[0]!.args).toEqual([1, 2, 3, 2, 9, 8, 3, 5, 4, 6, 3, 2, 2, 2, 1, 0, 1, 1]);
    expect(calls[1]!.args).toEqual([1, 2, 3, 2, 9, 8, 3, 5, 4, 6, 3, 2, 2, 2, 1, 0, 4]);
  });

  it("passes pad4's output dims as o1, o2, o3, o0 and slice4's source without its outermost dim", () => {
    const { exports, calls } = recorder();
    const kernels = bindKernels(exports);
    kernels.pad(1, 2, [1, 3, 4, 5], [0, 1, -1, 2], [1, 5, 3, 9], 0.5);
    kernels.slice(1, 2, [2, 3, 4, 5], [0, 1, 1, 2], [2, 2, 3, 3]);
    expect(calls[0]!.args).toEqual([1, 2, 1, 3, 4, 5, 0, 1, -1, 2, 5, 3, 9, 1, 0.5]);
    expect(calls[1]!.args).toEqual([1, 2, 3, 4, 5, 0, 1, 1, 2, 2, 2, 3, 3]);
  });
});

describe('dims4', () => {
  it('left-pads a shape of rank ≤ 4 with the given value', () => {
    expect(dims4([7, 8], 1)).toEqual([1, 1, 7, 8]);
    expect(dims4([3, 0, 2], 0)).toEqual([0, 3, 0, 2]);
    expect(dims4([1, 2, 3, 4], 9)).toEqual([1, 2, 3, 4]);
  });
});
