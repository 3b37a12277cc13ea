import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type WasmMemory, wasmMemoryOf, webAssembly } from '../internals.js';
import { bindKernels, type Ptr, type SimdExports, type SimdKernels } from './exports.js';
import { kernelsModule } from './module.js';

/** Runs a SIMD kernel on one backend's tensors: float32 inputs in, new float32 outputs back. */
export interface Heap {
  /** The backend whose tensors this heap reads. */
  readonly backend: 'wasm' | 'cpu';
  /**
   * Calls `body` with the byte offsets of `inputs` (0 for a null input) and of freshly
   * allocated outputs of `outShapes`, then of scratch buffers of `scratchSizes` floats (freed
   * after `body`), and returns the outputs. The kernel has checked its inputs already (float32,
   * shapes that agree with `body`'s arguments); a tensor that is not float32 here is a bug.
   */
  run(
    inputs: readonly (TensorInfo | null)[],
    outShapes: readonly number[][],
    body: (kernels: SimdKernels, inputs: Ptr[], outputs: Ptr[]) => void,
    scratchSizes?: readonly number[],
  ): TensorInfo[];
  /** The first value of a float32 tensor (for scalar operands). */
  scalar(t: TensorInfo): number;
  /** A new reference to `t`'s buffer with `shape` (same size): tensors are immutable, so no copy. */
  share(t: TensorInfo, shape: readonly number[]): TensorInfo;
}

/**
 * What this file needs of tfjs-backend-cpu's MathBackendCPU (public members; this package does
 * not depend on tfjs-backend-cpu directly, so it does not import the class's type). See internals.ts.
 */
export interface CpuBackendLike {
  data: { get(dataId: DataId): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
  incRef(dataId: DataId): void;
}

function instantiate(memory: WasmMemory): SimdKernels {
  // TF.js's threaded wasm build (cross-origin isolated pages) has a shared heap.
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const { Instance } = webAssembly();
  return bindKernels(new Instance(kernelsModule(shared), { env: { memory } }).exports as SimdExports);
}

function assertFloat32(inputs: readonly (TensorInfo | null)[]): void {
  for (const t of inputs) {
    if (t != null && t.dtype !== 'float32') throw new Error(`bug: a SIMD kernel passed a ${t.dtype} tensor to Heap.run`);
  }
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

// A cache, one instance of the module per TF.js heap: instantiating per call would cost more
// than most kernels. Weak, so a disposed backend's heap takes its instance with it.
const wasmInstances = new WeakMap<WasmMemory, SimdKernels>();

/**
 * The 'wasm' backend: the kernels share TF.js's heap, so they read inputs and write outputs in
 * place, with no copies.
 */
export function wasmHeap(backend: BackendWasm): Heap {
  const memory = wasmMemoryOf(backend);
  if (memory === undefined) throw new Error('cannot find the memory of the TF.js wasm module');
  let kernels = wasmInstances.get(memory);
  if (kernels === undefined) {
    kernels = instantiate(memory);
    wasmInstances.set(memory, kernels);
  }
  const simd = kernels;
  const offset = (t: TensorInfo) => {
    const data = backend.dataIdMap.get(t.dataId);
    if (data === undefined) throw new Error('tensor is not on the wasm backend');
    return data.memoryOffset;
  };
  return {
    backend: 'wasm',
    run(inputs, outShapes, body, scratchSizes = []) {
      assertFloat32(inputs);
      const outputs = outShapes.map((shape) => backend.makeOutput([...shape], 'float32'));
      const scratch = scratchSizes.map((n) => backend.makeOutput([n], 'float32'));
      try {
        body(simd, inputs.map((t) => (t == null ? 0 : offset(t))), [...outputs, ...scratch].map(offset));
      } finally {
        for (const t of scratch) backend.disposeData(t.dataId, true /* force */);
      }
      return outputs;
    },
    scalar: (t) => backend.typedArrayFromHeap(t)[0]!,
    share: (t, shape) => {
      backend.incRef(t.dataId);
      return { dataId: t.dataId, shape: [...shape], dtype: t.dtype };
    },
  };
}

/** A NaN payload no kernel computes. */
const GUARD = 0x7fc0dead;

// A cache: every cpu-backend call shares one private memory, grown to the largest call so far
// (and never shrunk, as TF.js's wasm heap).
let cpuKernels: { simd: SimdKernels; memory: WasmMemory } | undefined;

/**
 * The 'cpu' backend: the kernels get a private memory; inputs are copied in and outputs out,
 * which costs little next to the arithmetic they replace.
 */
export function cpuHeap(backend: CpuBackendLike): Heap {
  if (cpuKernels === undefined) {
    const memory = new (webAssembly().Memory)({ initial: 16 /* pages of 64 KiB */ });
    cpuKernels = { simd: instantiate(memory), memory };
  }
  const { simd, memory } = cpuKernels;
  const values = (t: TensorInfo) => {
    const v = backend.data.get(t.dataId)?.values;
    // A bool→float32 Cast leaves its values in a Uint8Array; copying them in converts them.
    if (!ArrayBuffer.isView(v) || v instanceof DataView) throw new Error('bug: a float32 tensor has no numeric values on the cpu backend');
    return v as Float32Array | Int32Array | Uint8Array;
  };
  return {
    backend: 'cpu',
    run(inputs, outShapes, body, scratchSizes = []) {
      assertFloat32(inputs);
      const sources = inputs.map((t) => (t == null ? null : values(t)));
      // 16-byte aligned slots after a null page, so that offset 0 still means "absent", each
      // followed by a guard word: a kernel that writes past a buffer fails here instead of
      // returning wrong numbers (on 'wasm' the same C code would damage TF.js's heap).
      const sizes = [...sources.map((s) => s?.length ?? 0), ...outShapes.map(sizeOf), ...scratchSizes];
      const offsets: number[] = [];
      const guards: number[] = [];
      let end = 64;
      for (const n of sizes) {
        offsets.push(end);
        guards.push(end / 4 + n);
        end += Math.ceil((n * 4 + 4) / 16) * 16;
      }
      const missing = end - memory.buffer.byteLength;
      if (missing > 0) memory.grow(Math.ceil(missing / 65536));
      const heap = new Float32Array(memory.buffer);
      const words = new Uint32Array(memory.buffer);
      sources.forEach((s, i) => s && heap.set(s, offsets[i]! / 4));
      for (const g of guards) words[g] = GUARD;
      const inPtrs = sources.map((s, i) => (s ? offsets[i]! : 0));
      const outPtrs = offsets.slice(sources.length);
      body(simd, inPtrs, outPtrs);
      if (guards.some((g) => words[g] !== GUARD)) throw new Error('bug: a SIMD kernel wrote past the end of a buffer');
      const after = new Float32Array(memory.buffer);
      return outShapes.map((shape, i) => {
        const start = outPtrs[i]! / 4;
        return backend.makeTensorInfo([...shape], 'float32', after.slice(start, start + sizeOf(shape)));
      });
    },
    scalar: (t) => values(t)[0]!,
    share: (t, shape) => {
      backend.incRef(t.dataId);
      return { dataId: t.dataId, shape: [...shape], dtype: t.dtype };
    },
  };
}
