/**
 * The one TF.js namespace this library uses, re-exported so that callers never hold a second
 * copy of tfjs-core (two copies means two engines, two backend registries and tensors that the
 * other copy cannot read).
 *
 * Importing it also registers the wasm backend (its start-up wrapped so that emscripten's
 * process listeners do not outlive it, see backend/emscriptenListeners.ts), this library's
 * training kernels, and `file://` save and load routers (io/fileRouter.ts). wasm then becomes
 * the highest-priority backend and initializes asynchronously, so, as everywhere in TF.js,
 * `await tf.ready()` (or `await useBackend(...)`) before building a model.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { wrapWasmFactory } from './backend/emscriptenListeners.js';
import { registerKernels } from './backend/registerKernels.js';
import { registerFileRouters } from './io/fileRouter.js';

wrapWasmFactory();
registerKernels();
registerFileRouters();

export { tf };
