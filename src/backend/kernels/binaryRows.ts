import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs';
import type { Heap } from '../simd/heap.js';
import { BinaryOp } from '../simd/ops.js';
import type { SimdKernel } from './simdKernel.js';
import { float32, sizeOf as size } from './validate.js';

const OPS = { Add: BinaryOp.Add, Sub: BinaryOp.Sub, Multiply: BinaryOp.Mul, RealDiv: BinaryOp.Div } as const;
type OpName = keyof typeof OPS;

/**
 * a ∘ b where one side has the output's full shape and the other only its trailing dims (a
 * per-channel vector) or one element. Equal shapes only on 'cpu' (as one row), where the stock
 * kernel calls a function per element (wasm's is vectorized already). Other broadcasts: null
 * (stock kernel).
 */
function binaryRows(heap: Heap, a: TensorInfo, b: TensorInfo, op: OpName): TensorInfo | null {
  if (!float32(a, b) || size(a.shape) === 0 || size(b.shape) === 0) return null;
  if (tf.util.arraysEqual(a.shape, b.shape) && heap.backend === 'wasm') return null;
  let out: number[];
  try {
    out = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  } catch {
    return null; // stock throws its own error
  }
  const trailing = (t: TensorInfo) => {
    const dims = t.shape.slice(t.shape.findIndex((d) => d !== 1));
    return size(t.shape) === 1 || tf.util.arraysEqual(dims, out.slice(out.length - dims.length));
  };
  let full: TensorInfo;
  let part: TensorInfo;
  let swap: boolean;
  if (tf.util.arraysEqual(a.shape, out) && trailing(b)) [full, part, swap] = [a, b, false];
  else if (tf.util.arraysEqual(b.shape, out) && trailing(a)) [full, part, swap] = [b, a, true];
  else return null;
  const channels = size(part.shape);
  const rows = size(out) / channels;
  const [result] = heap.run([full, part], [out], (k, [fullPtr, partPtr], [outPtr]) =>
    k.binaryRows(fullPtr!, partPtr!, outPtr!, { rows, channels }, OPS[op], swap),
  );
  return result!;
}

const kernel = (kernelName: OpName): SimdKernel<{ a: TensorInfo; b: TensorInfo }> => ({
  kernelName,
  run: (heap, { a, b }) => binaryRows(heap, a, b, kernelName),
});

export const add = kernel('Add');
export const sub = kernel('Sub');
export const multiply = kernel('Multiply');
export const realDiv = kernel('RealDiv');
