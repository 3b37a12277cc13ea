import type { PadV2Attrs, TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdKernel } from './simdKernel.js';
import { float32 } from './validate.js';

/**
 * Constant padding of float32 tensors up to rank 4 (ZeroPadding2D before strided convs) as one
 * fill and one memcpy per row: the stock cpu kernel maps every element's coordinates (~40 ms
 * per MNIST batch), and wasm's takes ~0.3 ms per call more than this. Negative paddings (which
 * TF.js accepts as crops) and empty tensors go to the stock kernel.
 */
export const padV2: SimdKernel<{ x: TensorInfo }, PadV2Attrs> = {
  kernelName: 'PadV2',
  run(heap, { x }, { paddings, constantValue }) {
    const rank = x.shape.length;
    if (!float32(x) || rank < 1 || rank > 4 || x.shape.some((d) => d === 0) || typeof constantValue !== 'number') return null;
    const valid = (p: unknown) => Array.isArray(p) && p.length === 2 && p.every((q) => Number.isInteger(q) && q >= 0);
    if (!Array.isArray(paddings) || paddings.length !== rank || !paddings.every(valid)) return null;
    const lead = 4 - rank;
    const dims = [...Array<number>(lead).fill(1), ...x.shape];
    const begin = [...Array<number>(lead).fill(0), ...paddings.map(([before]) => before)];
    const outDims = dims.map((d, i) => d + begin[i]! + (i < lead ? 0 : paddings[i - lead]![1]));
    const outShape = outDims.slice(lead);
    const [out] = heap.run([x], [outShape], (k, [src], [dst]) =>
      k.pad4(src!, dst!, ...dims, ...begin, outDims[1]!, outDims[2]!, outDims[3]!, outDims[0]!, constantValue),
    );
    return out!;
  },
};
