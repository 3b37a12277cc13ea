import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Heap } from '../simd/heap.js';

/**
 * A kernel written once against {@link Heap}, so that one implementation serves both the
 * 'wasm' and the 'cpu' backend; registerKernels.ts turns it into a TF.js KernelConfig per
 * backend. `run` returns null for any input it does not cover (NCHW, other dtypes, attrs that
 * disagree with the shapes, out-of-range values): the stock kernel of that backend runs instead,
 * and rejects what it rejects with its own error. The one exception is input on which the stock
 * wasm kernel would read or write outside its buffers (and which stock cpu rejects or garbles):
 * on 'wasm' the kernel throws `RejectedInput` for it instead (validate.ts's `reject`), and on
 * 'cpu' returns null as for anything else. Slice is the other exception: for begin + size
 * outside the input it throws TF.js's own `assertParamsValid` error on both backends (the error
 * stock cpu gives). Either way a kernel checks everything its C entry point relies on before it
 * calls {@link Heap.run}.
 */
export interface SimdKernel<I, A = NamedAttrMap> {
  kernelName: string;
  /** Backends to register on; default both. */
  backends?: readonly ('wasm' | 'cpu')[];
  run(heap: Heap, inputs: I, attrs: A): TensorInfo | TensorInfo[] | null;
}
