import { InputError } from '../errors.js';
import { tf } from '../tf.js';
import { type BackendName, checkBackendName } from './backendName.js';

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

// Taken when this module loads, before any backend initializes: the emscripten wasm module adds
// process listeners that rethrow every uncaught error and print its minified source with it.
const listenersBefore = {
  uncaughtException: new Set(process.listeners('uncaughtException')),
  unhandledRejection: new Set(process.listeners('unhandledRejection')),
};

function removeEmscriptenListeners(): void {
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    const listeners = process.listeners(event as 'uncaughtException') as ((...args: unknown[]) => void)[];
    for (const listener of listeners) {
      const rethrows = /ExitStatus|throw reason/.test(String(listener));
      if (rethrows && !listenersBefore[event].has(listener as never)) process.removeListener(event, listener);
    }
  }
}

/**
 * The cpu backend greets its first tensor in Node with a banner that says to install tfjs-node.
 * When cpu (or wasm, which may touch cpu for a constant) is chosen on purpose, that advice is noise.
 */
function silenceNodeBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

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
  silenceNodeBanner();
  const ok = await tf.setBackend(name);
  if (name === 'wasm') removeEmscriptenListeners();
  if (ok) await tf.ready();
  return ok;
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
