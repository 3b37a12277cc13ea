import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Heap } from '../simd/heap.js';

/**
 * A kernel written once against {@link Heap}, so that one implementation serves both the
 * 'wasm' and the 'cpu' backend; registerKernels.ts turns it into a TF.js KernelConfig per
 * backend. `run` returns null for a case it does not cover (e.g. NCHW), and the stock kernel
 * of that backend, if any, runs instead.
 */
export interface SimdKernel<I, A = NamedAttrMap> {
  kernelName: string;
  /** Backends to register on; default both. */
  backends?: readonly ('wasm' | 'cpu')[];
  run(heap: Heap, inputs: I, attrs: A): TensorInfo | TensorInfo[] | null;
}
