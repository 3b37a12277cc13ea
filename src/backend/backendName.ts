import { InputError, received } from '../errors.js';

/**
 * - `auto`: the fastest that loads: `cuda`, then `tensorflow`, then `wasm`, then `cpu`.
 * - `cuda`: libtensorflow with CUDA, from `@tensorflow/tfjs-node-gpu` (TF.js backend 'tensorflow').
 * - `tensorflow`: libtensorflow on the CPU, from `@tensorflow/tfjs-node`.
 * - `wasm`: TF.js's WebAssembly backend plus this library's SIMD training kernels; no native install.
 * - `cpu`: plain JavaScript, with the same training kernels; the last resort.
 * - `webgl`: TF.js's GPU backend, in a web page only (useBackend.browser.ts).
 */
export type BackendName = 'auto' | 'cuda' | 'tensorflow' | 'webgl' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'cuda', 'tensorflow', 'webgl', 'wasm', 'cpu'];

export function checkBackendName(name: BackendName): void {
  if (!BACKEND_NAMES.includes(name)) {
    throw new InputError(`backend must be one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}; received \`backend=${received(name)}\``);
  }
}
