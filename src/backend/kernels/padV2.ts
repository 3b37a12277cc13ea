import type { DataType, NamedAttrMap, NamedTensorInfoMap, NumericDataType, PadV2Attrs, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import type { SimdKernel } from './simdKernel.js';
import { float32, reject, sizeOf } from './validate.js';

type Pair = [number, number];

/** Whether `paddings` is one [before, after] pair of whole numbers per axis (an attr can be anything). */
function isPaddings(paddings: unknown, rank: number): paddings is Pair[] {
  const pair = (p: unknown) =>
    (Array.isArray(p) || ArrayBuffer.isView(p)) && (p as ArrayLike<unknown>).length === 2 && Array.from(p as ArrayLike<unknown>).every(Number.isInteger);
  return Array.isArray(paddings) && paddings.length === rank && paddings.every(pair);
}

/**
 * What stock cpu's PadV2 leaves in the padded cells of a `dtype` tensor: the value as its typed
 * array stores it (int32 truncates, NaN and ±Infinity become 0), and +0 for ±0, since it fills
 * only a value !== 0.
 */
function fillValue(dtype: DataType, constantValue: unknown): number {
  if (constantValue === 0) return 0;
  const cell = tf.util.getTypedArrayFromDType(dtype as NumericDataType, 1);
  cell[0] = constantValue as number;
  return cell[0]!;
}

/**
 * Negative paddings on wasm for int32 and bool tensors: a Slice of the part that stays, then a
 * PadV2 by what is left, both through the kernels registered on wasm (stock for these dtypes),
 * which see no negative padding. Output element j along an axis is input element j − before where
 * there is one, else the fill value.
 */
function cropThenPad(x: TensorInfo, paddings: readonly Pair[], constantValue: unknown, outShape: readonly number[]): TensorInfo {
  const begin: number[] = [];
  const size: number[] = [];
  const rest: Pair[] = [];
  x.shape.forEach((d, i) => {
    const [before, after] = paddings[i]!;
    const start = Math.max(0, -before);
    const kept = Math.max(0, Math.min(d, d + after) - start);
    // When nothing is kept, the whole axis is fill (`before` may exceed the output).
    const lead = Math.min(Math.max(before, 0), outShape[i]!);
    begin.push(kept > 0 ? start : 0);
    size.push(kept);
    rest.push([lead, outShape[i]! - lead - kept]);
  });
  const backend = tf.findBackend('wasm')!;
  const call = (kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap) =>
    tf.getKernel(kernelName, 'wasm')!.kernelFunc({ inputs, attrs, backend }) as TensorInfo;
  const kept = call('Slice', { x }, { begin, size });
  if (rest.every(([a, b]) => a === 0 && b === 0)) return kept;
  try {
    return call('PadV2', { x: kept }, { paddings: rest, constantValue: fillValue(x.dtype, constantValue) });
  } finally {
    backend.disposeData(kept.dataId);
  }
}

/**
 * A float32 pad (negative paddings crop) with the pad4 entry point, for any rank: one call up to
 * rank 4; above, one call per two axes, each on an [outer, a, b, inner] view of the previous
 * result (through scratch buffers). Not stock wasm's kernel for these: XNNPACK caches its pad
 * operator by fill value in a map whose float key takes NaN as equal to any value, so a NaN pad
 * after one with 0 fills 0.
 */
function padFloat32(heap: Heap, x: TensorInfo, paddings: readonly Pair[], constantValue: unknown, outShape: number[]): TensorInfo {
  const value = fillValue('float32', constantValue);
  const four = (dims: number[], fill = 1) => [...Array<number>(4 - dims.length).fill(fill), ...dims];
  const passes: { dims: number[]; begin: number[]; out: number[] }[] = [];
  if (x.shape.length <= 4) {
    passes.push({ dims: four(x.shape), begin: four(paddings.map(([before]) => before), 0), out: four(outShape) });
  } else {
    const dims = [...x.shape];
    for (let i = 0; i < dims.length; i += 2) {
      const axes = i + 1 < dims.length ? [i, i + 1] : [i];
      if (axes.every((a) => paddings[a]![0] === 0 && paddings[a]![1] === 0)) continue;
      const outer = sizeOf(dims.slice(0, i));
      const inner = sizeOf(dims.slice(i + axes.length));
      const view = (d: number[]) => four([outer, ...axes.map((a) => d[a]!), inner]);
      const begin = four([0, ...axes.map((a) => paddings[a]![0]), 0], 0);
      const from = view(dims);
      for (const a of axes) dims[a] = outShape[a]!;
      passes.push({ dims: from, begin, out: view(dims) });
    }
  }
  const scratch = passes.slice(0, -1).map(({ out }) => sizeOf(out));
  const [result] = heap.run([x], [outShape], (k, [src], [dst, ...buffers]) => {
    passes.forEach(({ dims, begin, out }, i) => {
      const from = i === 0 ? src! : buffers[i - 1]!;
      const to = i === passes.length - 1 ? dst! : buffers[i]!;
      k.pad4(from, to, ...dims, ...begin, out[1]!, out[2]!, out[3]!, out[0]!, value);
    });
  }, scratch);
  return result!;
}

/**
 * Constant padding of float32 tensors up to rank 4 (ZeroPadding2D before strided convs) as one
 * fill and one memcpy per row: the stock cpu kernel maps every element's coordinates (~40 ms
 * per MNIST batch), and wasm's takes ~0.3 ms per call more than this.
 *
 * Negative paddings: stock cpu places each input element at its shifted flat index (so rows
 * that fall outside wrap into their neighbours) and stock wasm writes outside its output for
 * every dtype and rank, damaging the heap. On cpu they go to the stock kernel (same values as
 * without this library); on wasm this kernel crops, which is what the stock kernel gives wherever
 * nothing wraps: {@link padFloat32} for float32, {@link cropThenPad} for int32 and bool. Also on wasm,
 * paddings that are not a pair of whole numbers per axis, string tensors (stock wasm aborts)
 * and complex64 ones (it writes nothing; stock cpu rejects them) are rejected.
 */
export const padV2: SimdKernel<{ x: TensorInfo }, PadV2Attrs> = {
  kernelName: 'PadV2',
  run(heap, { x }, { paddings, constantValue }) {
    const rank = x.shape.length;
    if (!isPaddings(paddings, rank)) {
      return reject(heap, `PadV2: paddings ${JSON.stringify(paddings)} must be ${rank} pairs [before, after] of whole numbers, one per axis of x [${x.shape}]`);
    }
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      return reject(heap, `PadV2: x is a ${x.dtype} tensor; wasm pads float32, int32 and bool tensors`);
    }
    const outShape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
    if (outShape.some((d) => d < 0)) return reject(heap, `PadV2: paddings ${JSON.stringify(paddings)} crop more than x's shape [${x.shape}]`);
    const crops = paddings.some(([before, after]) => before < 0 || after < 0);
    if (crops && heap.backend === 'cpu') return null;
    if (!crops) return float32(x) && rank >= 1 && rank <= 4 && typeof constantValue === 'number' ? padFloat32(heap, x, paddings, constantValue, outShape) : null;
    return float32(x) ? padFloat32(heap, x, paddings, constantValue, outShape) : cropThenPad(x, paddings, constantValue, outShape);
  },
};
