import type { Conv2DAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend.js';
import { stockKernel } from '../registerKernels.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmHeap } from '../simd/heap.js';
import { tf } from '../../tf.js';
import { conv2D, fusedConv2D } from './conv2D.js';
import { depthwiseConv2dNative, fusedDepthwiseConv2D } from './depthwiseConv2dNative.js';
import { preferStockConv, xnnpackSamePadIsWrong } from './dispatch.js';

const shape = (s: number[]) => ({ shape: s }) as TensorInfo;
const attrs = (strides: number | [number, number], pad: Conv2DAttrs['pad'] = 'same', dilations: number | [number, number] = 1) =>
  ({ strides, pad, dataFormat: 'NHWC', dilations }) as Conv2DAttrs;

describe('xnnpackSamePadIsWrong', () => {
  const wrong = (x: number[], f: number[], a: Conv2DAttrs) => xnnpackSamePadIsWrong(shape(x), shape(f), a);

  it("holds for 'same' where TensorFlow's total pad (⌈in/s⌉ − 1)·s + (k − 1)·d + 1 − in is negative on an axis", () => {
    // The example: rows 3, k 2, s 3 give (1 − 1)·3 + 2 − 3 = −1.
    expect(wrong([1, 3, 5, 5], [2, 5, 5, 1], attrs(3))).toBe(true);
    // Along the width only: columns 6, k 1, s 2 give 2·2 + 1 − 6 = −1 (the filter is 2×1).
    expect(wrong([3, 7, 6, 1], [2, 1, 1, 1], attrs(2))).toBe(true);
    expect(wrong([1, 8, 5, 6], [1, 2, 6, 12], attrs([2, 3]))).toBe(true);
    // A filter as long as the rows the stride leaves at the end: total pad 0.
    expect(wrong([1, 3, 5, 5], [3, 5, 5, 1], attrs(3))).toBe(false);
    expect(wrong([1, 8, 8, 5], [3, 3, 5, 1], attrs(2))).toBe(false);
  });

  it("never holds for stride 1, 1×1 filters, 'valid' or explicit pads", () => {
    for (const size of [1, 2, 5, 9]) {
      for (const k of [1, 2, 3, 5]) expect(wrong([1, size, size, 2], [k, k, 2, 1], attrs(1, 'same', 3))).toBe(false);
    }
    expect(wrong([1, 8, 8, 5], [1, 1, 5, 1], attrs(3))).toBe(false);
    expect(wrong([1, 3, 5, 5], [2, 5, 5, 1], attrs(3, 'valid'))).toBe(false);
    expect(wrong([1, 3, 5, 5], [2, 5, 5, 1], attrs(3, [[0, 0], [0, 0], [1, 2], [0, 0]]))).toBe(false);
  });
});

describe('preferStockConv', () => {
  it('on wasm sends depthwise convs to stock except where its TensorFlow-same padding is wrong', () => {
    const dw = (x: number[], f: number[], a: Conv2DAttrs) => preferStockConv('wasm', shape(x), shape(f), a, true);
    expect(dw([1, 9, 9, 8], [3, 3, 8, 1], attrs(1))).toBe(true);
    expect(dw([1, 112, 112, 32], [3, 3, 32, 1], attrs(2))).toBe(true);
    expect(dw([1, 3, 5, 5], [2, 5, 5, 1], attrs(3, 'valid'))).toBe(true);
    expect(dw([1, 8, 8, 5], [1, 1, 5, 1], attrs(3))).toBe(true);
    expect(dw([1, 3, 5, 5], [2, 5, 5, 1], attrs(3))).toBe(false);
    expect(dw([3, 7, 6, 1], [2, 1, 1, 2], attrs(2))).toBe(false);
  });

  it('keeps every conv on cpu, where the stock kernels are scalar JavaScript', () => {
    expect(preferStockConv('cpu', shape([1, 9, 9, 3]), shape([5, 5, 3, 8]), attrs(2), false)).toBe(false);
    expect(preferStockConv('cpu', shape([1, 9, 9, 8]), shape([3, 3, 8, 1]), attrs(1), true)).toBe(false);
  });

  it('on wasm runs ours only for unaliased 1×1 stride-1 unpadded convs with ≥ 32 input channels and ≥ 8 pixels', () => {
    const wasm = (x: number[], f: number[], a = attrs(1)) => preferStockConv('wasm', shape(x), shape(f), a, false);
    expect(wasm([1, 10, 10, 64], [1, 1, 64, 20])).toBe(false);
    expect(wasm([3, 2, 2, 32], [1, 1, 32, 12], attrs(1, 'valid'))).toBe(false);
    expect(wasm([3, 2, 2, 32], [1, 1, 32, 12], attrs(1, [[0, 0], [0, 0], [0, 0], [0, 0]]))).toBe(false);
    // Other shape classes go to XNNPACK.
    expect(wasm([1, 10, 10, 64], [3, 3, 64, 64])).toBe(true);
    expect(wasm([1, 10, 10, 64], [1, 3, 64, 64])).toBe(true);
    expect(wasm([1, 10, 10, 64], [1, 1, 64, 64], attrs(2))).toBe(true);
    expect(wasm([1, 10, 10, 16], [1, 1, 16, 64])).toBe(true);
    expect(wasm([7, 1, 1, 1280], [1, 1, 1280, 1000])).toBe(true);
    // Output channels that leave scalar columns, or whose weight rows alias in the cache.
    expect(wasm([1, 56, 56, 64], [1, 1, 64, 3])).toBe(true);
    expect(wasm([1, 7, 7, 128], [1, 1, 128, 1024])).toBe(true);
    expect(wasm([1, 7, 7, 2048], [1, 1, 2048, 256])).toBe(true);
    expect(wasm([1, 7, 7, 1024], [1, 1, 1024, 256])).toBe(true);
    expect(wasm([1, 7, 7, 512], [1, 1, 512, 256])).toBe(false);
    expect(wasm([1, 28, 28, 128], [1, 1, 128, 512])).toBe(false);
    // Weight matrices beyond 2^18 entries (our product does not tile them).
    expect(wasm([1, 7, 7, 512], [1, 1, 512, 1000])).toBe(true);
    expect(wasm([1, 7, 7, 1024], [1, 1, 1024, 1000])).toBe(true);
    expect(wasm([1, 7, 7, 320], [1, 1, 320, 1280])).toBe(true);
    expect(wasm([32, 7, 7, 960], [1, 1, 960, 320])).toBe(true);
    expect(preferStockConv('wasm', shape([1, 9, 9, 8]), shape([3, 3, 8, 1]), attrs(1), true)).toBe(true);
  });

  it('on wasm keeps ours wherever the stock conv computes other numbers than stock cpu, slower or not', () => {
    const wasm = (x: number[], f: number[], a = attrs(1), bias?: number[]) =>
      preferStockConv('wasm', shape(x), shape(f), a, false, bias ? shape(bias) : undefined);
    // Explicit pads, biases of other ranks than 1.
    expect(wasm([1, 10, 10, 64], [1, 1, 64, 64], attrs(1, 1))).toBe(false);
    expect(wasm([1, 10, 10, 64], [3, 3, 64, 64], attrs(1, [[0, 0], [1, 1], [1, 1], [0, 0]]))).toBe(false);
    expect(wasm([2, 10, 10, 8], [3, 3, 8, 8], attrs(1), [1, 1, 8])).toBe(false);
    expect(wasm([2, 10, 10, 8], [3, 3, 8, 8], attrs(1), [8])).toBe(true);
    // 'same' where TensorFlow's total pad would be negative: a 1×2 filter at stride 2 over 8 rows.
    expect(wasm([1, 8, 5, 6], [1, 2, 6, 12], attrs([2, 3]))).toBe(false);
    expect(wasm([1, 8, 5, 6], [2, 2, 6, 12], attrs([2, 3]))).toBe(true);
  });

  it('makes the registered wasm kernels decline (stock runs) exactly where it says so', async () => {
    await useBackend('wasm');
    const backend = tf.backend();
    const heap = wasmHeap(backend as BackendWasm);
    const conv = (k: number, cin: number) => {
      const x = tf.randomNormal([2, 6, 6, cin], 0, 1, 'float32', 1);
      const filter = tf.randomNormal([k, k, cin, 8], 0, 1, 'float32', 2);
      const bias = tf.randomNormal([8], 0, 1, 'float32', 3);
      return { x, filter, bias };
    };
    const small = conv(3, 4);
    const a = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], activation: 'relu' } as never;
    expect(conv2D.run(heap, small, a)).toBeNull();
    expect(fusedConv2D.run(heap, small, a)).toBeNull();
    // What the user gets is the stock kernel's result, to the bit.
    const ours = tf.conv2d(small.x as tf.Tensor4D, small.filter as tf.Tensor4D, 1, 'same');
    const stock = stockKernel('Conv2D', 'wasm')!.kernelFunc({ inputs: { x: small.x, filter: small.filter }, attrs: a, backend }) as TensorInfo;
    expect(Array.from(ours.dataSync())).toEqual(Array.from(backend.readSync(stock.dataId) as Float32Array));
    backend.disposeData(stock.dataId);

    const wide = conv(1, 32);
    const out = fusedConv2D.run(heap, wide, a) as TensorInfo;
    expect(out.shape).toEqual([2, 6, 6, 8]);
    backend.disposeData(out.dataId);
    // Activations the module does not apply go to the stock kernel before the speed rule runs,
    // even on a shape ours would take.
    for (const activation of ['elu', 'sigmoid', 'leakyrelu']) expect(fusedConv2D.run(heap, wide, { ...(a as object), activation } as never), activation).toBeNull();
    tf.dispose([ours, ...Object.values(small), ...Object.values(wide)]);
  });

  it('runs the registered wasm depthwise kernels on ours only in that class, and with explicit pads where ours has no fused activation', async () => {
    await useBackend('wasm');
    const backend = tf.backend();
    const heap = wasmHeap(backend as BackendWasm);
    const inputs = (x: number[], f: number[]) => ({
      x: tf.randomNormal(x, 0, 1, 'float32', 1), filter: tf.randomNormal(f, 0, 1, 'float32', 2), bias: tf.randomNormal([f[2]! * f[3]!], 0, 1, 'float32', 3),
    });
    const a = (strides: number, activation = 'linear') => ({ strides, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation }) as never;
    const usual = inputs([1, 8, 8, 4], [3, 3, 4, 1]);
    expect(depthwiseConv2dNative.run(heap, usual, a(2))).toBeNull();
    expect(fusedDepthwiseConv2D.run(heap, usual, a(2, 'relu'))).toBeNull();
    const broken = inputs([1, 3, 5, 5], [2, 5, 5, 1]);
    for (const out of [depthwiseConv2dNative.run(heap, broken, a(3)), fusedDepthwiseConv2D.run(heap, broken, a(3, 'elu'))] as TensorInfo[]) {
      expect(out.shape).toEqual([1, 1, 2, 5]);
      expect(Array.from(backend.readSync(out.dataId) as Float32Array).some((v) => v !== 0)).toBe(true);
      backend.disposeData(out.dataId);
    }
    tf.dispose([...Object.values(usual), ...Object.values(broken)]);
  });
});
