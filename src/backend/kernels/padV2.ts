import type { PadV2Attrs, TensorInfo } from '@tensorflow/tfjs-core';
import { dims4 } from '../simd/exports.js';
import type { SimdKernel } from './simdKernel.js';
import { float32, reject } from './validate.js';

/**
 * Constant padding of float32 tensors up to rank 4 (ZeroPadding2D before strided convs) as one
 * fill and one memcpy per row: the stock cpu kernel maps every element's coordinates (~40 ms
 * per MNIST batch), and wasm's takes ~0.3 ms per call more than this.
 *
 * Negative paddings: stock cpu places each input element at its shifted flat index (so rows
 * that fall outside wrap into their neighbours) and stock wasm writes outside its output,
 * damaging the heap. On cpu they go to the stock kernel (same values as without this library);
 * on wasm this kernel crops, which is what the stock kernel gives wherever nothing wraps.
 */
export const padV2: SimdKernel<{ x: TensorInfo }, PadV2Attrs> = {
  kernelName: 'PadV2',
  run(heap, { x }, { paddings, constantValue }) {
    const rank = x.shape.length;
    if (!float32(x) || rank < 1 || rank > 4 || typeof constantValue !== 'number') return null;
    const valid = (p: unknown) => Array.isArray(p) && p.length === 2 && p.every((q) => Number.isInteger(q));
    if (!Array.isArray(paddings) || paddings.length !== rank || !paddings.every(valid)) return null;
    if (heap.backend === 'cpu' && paddings.some(([before, after]) => before < 0 || after < 0)) return null;
    const lead = 4 - rank;
    const dims = [...Array<number>(lead).fill(1), ...x.shape];
    const begin = [...Array<number>(lead).fill(0), ...paddings.map(([before]) => before)];
    const outDims = dims.map((d, i) => d + begin[i]! + (i < lead ? 0 : paddings[i - lead]![1]));
    const outShape = outDims.slice(lead);
    if (outShape.some((d) => d < 0)) return reject(heap, `PadV2: paddings ${JSON.stringify(paddings)} crop more than x's shape [${x.shape}]`);
    // Stock fills only a value !== 0, so −0 pads with +0.
    const value = constantValue === 0 ? 0 : constantValue;
    const [out] = heap.run([x], [outShape], (k, [src], [dst]) =>
      k.pad(src!, dst!, dims4(dims, 1), dims4(begin, 0), dims4(outDims, 1), value),
    );
    return out!;
  },
};
