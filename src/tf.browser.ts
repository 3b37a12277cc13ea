/**
 * The browser build's tf.ts: the same namespace and kernels, and a wasm backend that needs no
 * configuration. TF.js would fetch its wasm binaries from beside the bundled script, where
 * bundlers do not put them; unless the page self-hosts them (setWasmPaths), the backend's
 * factory is wrapped so that its first start loads copies embedded in this library.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths as setTfjsWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { backendFactory } from './backend/internals.js';
import { registerKernels } from './backend/registerKernels.js';
import { wasmPathsSet } from './backend/wasmPaths.js';

registerKernels();

// The registry is TF.js-internal (see internals.ts), but registerBackend offers no way to wrap a
// factory, and re-registering would move wasm behind webgl among backends of equal priority.
const wasm = backendFactory('wasm');
if (wasm !== undefined) {
  const factory = wasm.factory;
  let embedded = false;
  wasm.factory = async () => {
    if (!wasmPathsSet() && !embedded) {
      setTfjsWasmPaths((await import('./backend/embeddedWasm.js')).embeddedWasmUrls());
      embedded = true;
    }
    return factory();
  };
}

export { tf };
