import type { Conv2DAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend.js';
import { stockKernel } from '../registerKernels.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmHeap } from '../simd/heap.js';
import { tf } from '../../tf.js';
import { conv2D, fusedConv2D } from './conv2D.js';
import { preferStockConv } from './dispatch.js';

const shape = (s: number[]) => ({ shape: s }) as TensorInfo;
const attrs = (strides: number | [number, number], pad: Conv2DAttrs['pad'] = 'same') =>
  ({ strides, pad, dataFormat: 'NHWC', dilations: 1 }) as Conv2DAttrs;

describe('preferStockConv', () => {
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
    expect(wasm([1, 7, 7, 512], [1, 1, 512, 1000])).toBe(false);
    expect(wasm([1, 7, 7, 1024], [1, 1, 1024, 1000])).toBe(true);
    expect(wasm([1, 7, 7, 320], [1, 1, 320, 1280])).toBe(false);
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
});
