/**
 * The one TF.js namespace this library uses, re-exported so that callers never hold a second
 * copy of tfjs-core (two copies means two engines, two backend registries and tensors that the
 * other copy cannot read).
 *
 * Importing it also registers the wasm backend and this library's training kernels. wasm then
 * becomes the highest-priority backend and initializes asynchronously, so, as everywhere in
 * TF.js, `await tf.ready()` (or `await useBackend(...)`) before building a model.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerKernels } from './backend/registerKernels.js';

registerKernels();

export { tf };
