/**
 * The registry of module-level mutable state: every top-level `let`, and every top-level
 * `Map`/`WeakMap`/`Set`/`WeakSet`, in src/ (tests aside). Each is one of three kinds:
 * - 'registration': what the library registered with TF.js, kept so it can be undone;
 * - 'cache': a value computed once and reused, keyed weakly by the object it describes where
 *   there is one (it goes with that object), never visible in results;
 * - 'process': a resource this process holds (temp files, locks), released on exit.
 * `moduleState.test.ts` fails when src/ gains such state that is not listed here, or when an
 * entry no longer exists. docs/internals.md ("Module-level state") explains the list.
 */
export interface ModuleState {
  /** The file under src/. */
  file: string;
  /** The variable's name. */
  name: string;
  kind: 'registration' | 'cache' | 'process';
  why: string;
}

export const MODULE_STATE: readonly ModuleState[] = [
  { file: 'backend/registerKernels.ts', name: 'stockKernels', kind: 'registration', why: "the stock kernels replaced on wasm/cpu, for restoreStockKernels" },
  { file: 'backend/registerKernels.ts', name: 'stockGradients', kind: 'registration', why: 'the stock gradients replaced, for restoreStockKernels' },
  { file: 'backend/registerKernels.ts', name: 'registered', kind: 'registration', why: 'whether our kernels are registered now (registerKernels is idempotent)' },
  { file: 'backend/gradients/releaseEarly.ts', name: 'unwrapped', kind: 'registration', why: 'each gradient wrapped for early release, as TF.js had it' },
  { file: 'backend/gradients/releaseEarly.ts', name: 'handoffs', kind: 'cache', why: 'per gradient input (weak), the buffer it was handed off to' },
  { file: 'io/fileRouter.ts', name: 'registered', kind: 'registration', why: 'whether the file:// routers are registered (once per process)' },
  { file: 'backend/wasmPaths.ts', name: 'custom', kind: 'registration', why: 'whether the page set its own wasm paths: TF.js keeps them but has no getter' },
  { file: 'backend/simd/module.ts', name: 'bytes', kind: 'cache', why: 'the SIMD module binary, decoded once' },
  { file: 'backend/simd/heap.ts', name: 'wasmInstances', kind: 'cache', why: "per TF.js wasm memory (weak), our kernels' instance linked to it" },
  { file: 'backend/simd/heap.ts', name: 'cpuKernels', kind: 'cache', why: "the cpu backend's private instance and memory, grown to the largest call" },
  { file: 'engines/onnxruntime.ts', name: 'loading', kind: 'cache', why: 'the optional onnxruntime-node import, tried once' },
  { file: 'engines/onnxruntime.ts', name: 'sessions', kind: 'cache', why: 'per model (weak), its onnxruntime session while its weights stay the same' },
  { file: 'export/onnxCodec.ts', name: 'modelType', kind: 'cache', why: "ONNX's protobuf schema, parsed once" },
  { file: 'models/architectureOf.ts', name: 'known', kind: 'cache', why: 'per model (weak), its architecture description (or null: not ours)' },
  { file: 'models/architectureOf.ts', name: 'prefixes', kind: 'cache', why: 'per model (weak), the described prefix of a model with a custom head' },
  { file: 'models/boundArchitecture.ts', name: 'cache', kind: 'cache', why: "per model (weak), the description bound to the model's layers and weights" },
  { file: 'training/forward.ts', name: 'walks', kind: 'cache', why: 'per layer graph (weak), the lean forward pass compiled for it' },
  { file: 'predict/embed.ts', name: 'featureModels', kind: 'cache', why: 'per model (weak), the model that stops at its pooled features' },
  { file: 'io/atomic.ts', name: 'temporaries', kind: 'process', why: 'temp files of saves in flight, removed on exit' },
  { file: 'io/runLock.ts', name: 'held', kind: 'process', why: 'run-directory locks this process holds, released on exit' },
];
