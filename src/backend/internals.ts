import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';

/*
 * Every place where this library relies on TF.js beyond its documented API, with the reason,
 * in one list (INTERNALS). internals.test.ts checks each entry against the installed TF.js, so
 * that an upgrade that renames or drops one fails there, by name, instead of somewhere else
 * with wrong numbers. The accessors below are the only code in src/ that reads the untyped
 * ones; the casts they need live here, and the rest of src/ calls them. What the layers code
 * reads of tfjs-layers is listed too (its casts are in the files named).
 */

/** One reliance on TF.js beyond its documented API. */
export interface InternalTouch {
  /** The field, method or behaviour relied on. */
  what: string;
  /** Where in src/ (file paths from src/). */
  where: readonly string[];
  /** Why there is no public way, and what happens without it. */
  why: string;
}

export const INTERNALS: readonly InternalTouch[] = [
  {
    what: 'BackendWasm.wasm: the emscripten module\'s memory (asm.memory, wasmExports.memory or, threaded, wasmMemory)',
    where: ['backend/internals.ts (wasmMemoryOf)', 'backend/simd/heap.ts'],
    why: 'the SIMD kernels run inside TF.js\'s wasm heap to read and write tensors in place; tfjs-backend-wasm types the module without its memory',
  },
  {
    what: 'BackendWasm.dataIdMap.get(dataId).memoryOffset, makeOutput, disposeData(dataId, force), typedArrayFromHeap, incRef',
    where: ['backend/simd/heap.ts'],
    why: 'typed public members of the exported BackendWasm class, but not documented API: where a tensor lives in the heap, and new outputs and scratch buffers in it',
  },
  {
    what: 'MathBackendCPU.data.get(dataId).values, makeTensorInfo, incRef',
    where: ['backend/simd/heap.ts'],
    why: 'typed public members of MathBackendCPU: the values to copy into the kernels\' private memory and the outputs made from them',
  },
  {
    what: 'KernelBackend.incRef(dataId): another reference to a buffer',
    where: ['backend/internals.ts (shareBuffer)', 'backend/kernels/identity.ts', 'backend/kernels/cast.ts', 'backend/simd/heap.ts'],
    why: 'typed on tfjs-core\'s KernelBackend, which kernels receive untyped: Identity and same-dtype Cast share the buffer instead of copying it, as the cpu backend does',
  },
  {
    what: 'MathBackendCPU.firstUse (private)',
    where: ['backend/internals.ts (silenceCpuBanner)', 'backend/useBackend.ts'],
    why: 'set to false so that the cpu backend does not print its "install tfjs-node" banner when cpu was chosen on purpose; there is no option for it',
  },
  {
    what: 'Engine.registryFactory[name] (private): a registered backend\'s factory',
    where: ['backend/internals.ts (backendFactory)', 'tf.browser.ts'],
    why: 'the browser build wraps the wasm factory so that its first start loads the binaries embedded in the bundle; registerBackend cannot wrap one, and registering again would move wasm behind webgl among backends of equal priority',
  },
  {
    what: 'Engine.registeredVariables[name], Engine.runKernel(name, inputs, attrs), Engine.isTapeOn()',
    where: ['backend/optimizers/fusedAdam.ts', 'backend/gradients/*.ts', 'backend/kernels/maskGrad.ts', 'training/trainingOps.ts'],
    why: 'typed members of tf.engine(), not documented API: a variable by its name (what TF.js\'s own optimizers use), kernels that no op exposes (this library\'s, by name), and whether a gradient is being recorded (this library\'s gradient kernels have no gradients of their own)',
  },
  {
    what: 'GradConfig.inputsToSave/outputsToSave/saveAllInputs and the tape: a gradient receives clones of the inputs it names, then of the outputs it marks, made for its node alone, and the engine calls each of its closures at most once, for the inputs that lead from the variables',
    where: ['backend/gradients/releaseEarly.ts'],
    why: 'early release in the backward pass: saved clones are disposed once every closure has run, and a node knows its outputs by saving them',
  },
  {
    what: 'Identity (tensor clones) shares the buffer on wasm and cpu: a clone has its original\'s dataId',
    where: ['backend/gradients/releaseEarly.ts'],
    why: 'a gradient is recorded against the data of the input it differentiates, as the node saved it; without sharing nothing matches, and dys are kept to the end of the pass (as in TF.js)',
  },
  {
    what: 'AdamOptimizer\'s protected learningRate, beta1, beta2, epsilon, incrementIterations, extractIterations, and Optimizer\'s saveIterations/iterations',
    where: ['backend/optimizers/fusedAdam.ts'],
    why: 'the subclassing contract of TF.js\'s optimizers: FusedAdamOptimizer keeps TF.js\'s config, iteration count and weight format',
  },
  {
    what: 'Optimizer[Symbol.hasInstance] answers by duck typing (any optimizer is an instance of every optimizer class)',
    where: ['backend/optimizers/fusedAdam.ts', 'training/optimizer.ts'],
    why: 'FusedAdamOptimizer answers by its prototype chain instead, and setLearningRate tests for the setter, not the class',
  },
  {
    what: "Sequential.model (private): a Sequential's inner functional model",
    where: ['layers/graph.ts'],
    why: "the generic graph walker (the fallback for models that are not a MobileNetV2 of this library) runs a Sequential through its inner model's public nodesByDepth; a MobileNetV2 of this library is read through its architecture description, its layers' public weights and getConfig()",
  },
];

/**
 * Files of src/ where an `as unknown as` cast may stay, each with its reason.
 * internals.test.ts fails on a cast anywhere else.
 */
export const CAST_SITES: readonly string[] = [
  'backend/internals.ts',
  'layers/graph.ts', // a Sequential's private inner model (listed above)
  'models/architectureOf.ts', // toJSON's generic JSON dict as the saved topology's shape
  'export/onnxCodec.ts', // protobufjs's CommonJS module under ESM interop (its `default`)
  'parallel/worker.ts', // worker_threads' MessagePort as the protocol's Port
];

/** The part of the WebAssembly JS API this library uses (its TS lib, ES2022 without DOM, has no WebAssembly types). */
export interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

/** A WebAssembly.Memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The global WebAssembly object, typed. */
export const webAssembly = (): WebAssemblyApi => (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** The memory of TF.js's wasm module (its heap), wherever this emscripten build keeps it; undefined if none. */
export function wasmMemoryOf(backend: BackendWasm): WasmMemory | undefined {
  // The threaded build (cross-origin isolated pages) imports its memory and keeps it in `wasmMemory`.
  const module = backend.wasm as unknown as { asm?: { memory?: WasmMemory }; wasmExports?: { memory?: WasmMemory }; wasmMemory?: WasmMemory };
  return module.asm?.memory ?? module.wasmExports?.memory ?? module.wasmMemory;
}

/** A new reference to `x`'s buffer, with `dtype`, through the backend's reference count (TF.js tensors are immutable). */
export function shareBuffer(backend: unknown, x: TensorInfo, dtype = x.dtype): TensorInfo {
  (backend as { incRef(dataId: DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype };
}

/**
 * Keeps the cpu backend from greeting its first tensor in Node with a banner that says to install
 * tfjs-node: when cpu (or wasm, which may touch cpu for a constant) is chosen on purpose, that
 * advice is noise.
 */
export function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/** A backend's registration: its factory and priority. */
export interface BackendFactory {
  factory: () => unknown;
  priority: number;
}

/** The registration of backend `name`, to wrap its factory in place; undefined if it is not registered. */
export function backendFactory(name: string): BackendFactory | undefined {
  return (tf.engine() as unknown as { registryFactory: Record<string, BackendFactory | undefined> }).registryFactory[name];
}
