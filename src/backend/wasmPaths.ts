import { setWasmPaths as setTfjsWasmPaths } from '@tensorflow/tfjs-backend-wasm';

// Whether the page set its own paths: TF.js keeps them but offers no getter.
let custom = false;

/**
 * Where the TF.js wasm binaries (`tfjs-backend-wasm.wasm`, `-simd.wasm`, `-threaded-simd.wasm`)
 * are fetched from: a folder URL ending in `/`, or one URL per file name. TF.js's own
 * `setWasmPaths`, plus a note for this library's browser build that the page self-hosts them,
 * so the binaries embedded in the bundle are never loaded. Call it before the wasm backend
 * initializes (before `useBackend` or the first `tf.ready()`).
 *
 * Without it, Node reads the binaries from the installed package and a page uses copies
 * embedded in this library's browser build (loaded as a separate chunk, on first use).
 *
 * @example
 * // Self-host: copy node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm to /static/tfjs/
 * setWasmPaths('/static/tfjs/');
 * await useBackend('wasm');
 */
export function setWasmPaths(prefixOrFileMap: Parameters<typeof setTfjsWasmPaths>[0]): void {
  setTfjsWasmPaths(prefixOrFileMap);
  custom = true;
}

/** True once {@link setWasmPaths} was called. */
export const wasmPathsSet = () => custom;
