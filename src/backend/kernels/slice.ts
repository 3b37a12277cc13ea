import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import { dims4 } from '../simd/exports.js';
import type { SimdKernel } from './simdKernel.js';
import { float32 } from './validate.js';

/**
 * Slice of a float32 tensor of rank ≤ 4 (the gradient of ZeroPadding2D), one memcpy per
 * contiguous run; the stock Slice of both backends walks every element. A slice of the whole
 * tensor (what `predict` takes of a single batch) shares the buffer instead of copying it.
 */
export const slice: SimdKernel<{ x: TensorInfo }, { begin: number | number[]; size: number | number[] }> = {
  kernelName: 'Slice',
  run(heap, { x }, attrs) {
    let begin: number[];
    let size: number[];
    try {
      [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size) as [number[], number[]];
    } catch {
      return null;
    }
    const inside = (b: number, i: number) =>
      Number.isInteger(b) && Number.isInteger(size[i]) && b >= 0 && size[i]! >= 0 && b + size[i]! <= x.shape[i]!;
    if (begin.length !== x.shape.length || size.length !== x.shape.length || !begin.every(inside)) {
      // Stock cpu rejects this with assertParamsValid's error; stock wasm would read outside
      // the heap (any dtype), so both get that error here.
      tf.slice_util.assertParamsValid(x, begin, size);
      return null;
    }
    if (!float32(x) || x.shape.length > 4) return null;
    if (begin.every((b) => b === 0) && size.every((s, i) => s === x.shape[i])) return heap.share(x, size);
    const [out] = heap.run([x], [size], (k, [xPtr], [outPtr]) =>
      k.slice(xPtr!, outPtr!, dims4(x.shape, 1), dims4(begin, 0), dims4(size, 1)),
    );
    return out!;
  },
};
