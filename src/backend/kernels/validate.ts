import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';

/*
 * The checks every kernel makes before it calls its C entry point, which trusts its arguments:
 * a kernel returns null when one fails, and the stock kernel runs instead (and rejects what
 * stock rejects, with its own error), except for input that would make the stock wasm kernel
 * read or write outside its buffers, which {@link reject} refuses on 'wasm'. A direct
 * `tf.engine().runKernel` bypasses the ops' own checks, so the kernels cannot rely on them.
 */

/** Whether every given tensor is float32 (absent optional inputs pass). */
export function float32(...tensors: (TensorInfo | null | undefined)[]): boolean {
  return tensors.every((t) => t == null || t.dtype === 'float32');
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Whether `shape` is a list of whole, non-negative dimensions (an attr can be anything). */
export function isShape(shape: unknown, rank?: number): shape is number[] {
  return (
    Array.isArray(shape) &&
    (rank === undefined || shape.length === rank) &&
    shape.every((d) => Number.isInteger(d) && d >= 0)
  );
}

/**
 * A shape seen as [outer, rows, channels] around the run of axes [start, end): the reductions
 * and broadcasts over it (Mean and its gradient) work row by row within each outer index.
 */
export function axisRun(shape: readonly number[], start: number, end: number): { outer: number; rows: number; channels: number } {
  return { outer: sizeOf(shape.slice(0, start)), rows: sizeOf(shape.slice(start, end)), channels: sizeOf(shape.slice(end)) };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Thrown on 'wasm' for input that stock cpu rejects or garbles and for which the stock wasm
 * kernel reads or writes outside its buffers (damaging the heap for every later op).
 */
export class RejectedInput extends Error {
  override name = 'RejectedInput';
}

/** For such input: null on cpu, so that stock handles it as without this library; on wasm, {@link RejectedInput}. */
export function reject(heap: Heap, message: string): null {
  if (heap.backend === 'wasm') throw new RejectedInput(message);
  return null;
}

/**
 * computeConv2DInfo, or null where it throws or where its geometry is not what the C loops
 * assume: whole numbers, strides and dilations ≥ 1 (not both above 1), no negative sizes.
 * Pads may be negative: every tap is bounds-checked against the input. A negative output size
 * is {@link reject}ed.
 */
export function convInfo(
  heap: Heap, kernelName: string, xShape: readonly number[], filterShape: readonly number[], strides: unknown, dilations: unknown, pad: unknown,
  dimRoundingMode: unknown, depthwise: boolean,
): tf.backend_util.Conv2DInfo | null {
  if (!isShape(xShape, 4) || !isShape(filterShape, 4) || xShape[3] !== filterShape[2]) return null;
  let info: tf.backend_util.Conv2DInfo;
  try {
    info = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number], filterShape as [number, number, number, number],
      strides as number, (dilations ?? 1) as number, pad as 'same', dimRoundingMode as 'floor', depthwise,
    );
  } catch {
    return null;
  }
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo } = info;
  if (info.outHeight < 0 || info.outWidth < 0) {
    return reject(heap, `${kernelName}: the filter (with its dilations) is larger than the padded input; output shape [${info.outShape}]`);
  }
  const sizes = [info.outHeight, info.outWidth, info.outChannels, info.filterHeight, info.filterWidth];
  const ok =
    [...sizes, strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo.top, padInfo.left].every(Number.isInteger) &&
    sizes.every((d) => d >= 0) &&
    Math.min(strideHeight, strideWidth, dilationHeight, dilationWidth) >= 1 &&
    // Stock kernels (depthwise on cpu) reject strides and dilations both above 1.
    (Math.max(strideHeight, strideWidth) === 1 || Math.max(dilationHeight, dilationWidth) === 1);
  return ok ? info : null;
}
