import { InputError } from '../errors.js';
import { tf } from '../tf.js';
import { type BackendName, checkBackendName } from './backendName.js';
import { withoutEmscriptenListeners } from './emscriptenListeners.js';
import { silenceCpuBanner } from './internals.js';

export type { BackendName };

const NATIVE = {
  cuda: {
    pkg: '@tensorflow/tfjs-node-gpu',
    fix:
      'run `npm i @tensorflow/tfjs-node-gpu@4.22.0` on Linux x64 with an NVIDIA driver, CUDA 11.2 and cuDNN 8.1 ' +
      "(what its libtensorflow 2.9.1 requires), or use 'auto' or 'wasm'",
  },
  tensorflow: {
    pkg: '@tensorflow/tfjs-node',
    fix:
      "run `npm i @tensorflow/tfjs-node@4.22.0` (it downloads libtensorflow 2.9.1 at install time), or use 'auto' or 'wasm'",
  },
} as const;


async function loadNative(name: 'cuda' | 'tensorflow'): Promise<string | null> {
  const { pkg } = NATIVE[name];
  try {
    // A computed specifier: bundlers leave the optional native package alone.
    await import(/* @vite-ignore */ pkg as string);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    return /Cannot find (module|package)/.test(reason) ? `${pkg} is not installed` : `${pkg} failed to load (${reason})`;
  }
  if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but its 'tensorflow' backend did not initialize`;
  return null;
}

async function setPortable(name: 'wasm' | 'cpu'): Promise<boolean> {
  silenceCpuBanner();
  const init = async () => {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok;
  };
  return name === 'wasm' ? withoutEmscriptenListeners(init) : init();
}

/**
 * Selects and initializes a TF.js backend and returns the active backend's name ('tensorflow',
 * 'wasm' or 'cpu'). Await it before building a model.
 *
 * `auto` (the default) takes the first of `cuda`, `tensorflow`, `wasm`, `cpu` that loads. An
 * explicit choice that cannot load throws an {@link InputError} saying why and how to fix it.
 * The wasm binaries load from the installed package, with no network access.
 *
 * In a web page (the package's browser build) the choices are `webgl`, `wasm` and `cpu`, and
 * `auto` takes the first of `wasm`, `webgl`, `cpu` that starts.
 *
 * In Node, the two process listeners that emscripten's module adds when wasm starts
 * ('uncaughtException' rethrowing every error, exiting with code 7; 'unhandledRejection'
 * throwing) are removed however wasm starts, here or through `tf.ready()`/`tf.setBackend`
 * (tf.ts wraps the backend's factory); listeners anyone else added are left alone.
 *
 * @param name - 'auto' | 'cuda' | 'tensorflow' | 'webgl' | 'wasm' | 'cpu'; default 'auto'.
 * @example
 * const backend = await useBackend('auto'); // 'wasm' on a machine without tfjs-node
 * const model = mobileNetV2Mnist();
 */
export async function useBackend(name: BackendName = 'auto'): Promise<string> {
  checkBackendName(name);
  if (name === 'webgl') throw new InputError("backend 'webgl' needs a web page (WebGL); in Node use 'auto', 'wasm' or 'cpu'");
  if (name === 'cuda' || name === 'tensorflow') {
    const failure = await loadNative(name);
    if (failure !== null) throw new InputError(`backend '${name}' is unavailable: ${failure}; ${NATIVE[name].fix}`);
    return tf.getBackend();
  }
  if (name === 'wasm' || name === 'cpu') {
    if (!(await setPortable(name))) {
      throw new InputError(`backend '${name}' failed to initialize; reinstall the package (npm ci) or use 'auto'`);
    }
    return tf.getBackend();
  }
  for (const native of ['cuda', 'tensorflow'] as const) {
    if ((await loadNative(native)) === null) return tf.getBackend();
  }
  if (await setPortable('wasm')) return tf.getBackend();
  if (await setPortable('cpu')) return tf.getBackend();
  throw new InputError("no TF.js backend could initialize (tried cuda, tensorflow, wasm, cpu); reinstall with `npm ci`");
}
