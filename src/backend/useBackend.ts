import { InputError } from '../errors.js';
import { tf } from '../tf.js';
import { type BackendName, checkBackendName } from './backendName.js';
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

type Listener = (...args: unknown[]) => void;
const CRASH_EVENTS: readonly (string | symbol)[] = ['uncaughtException', 'unhandledRejection'];

/**
 * Runs `init` and then removes the process listeners that emscripten's glue code in
 * tfjs-backend-wasm added while it ran: an 'uncaughtException' listener that rethrows every error
 * (printing the module's minified source with it) and an 'unhandledRejection' listener that
 * throws the reason. They outlive the backend and would fire on the user's own errors.
 *
 * Node announces each listener with 'newListener' before adding it, so the listeners are taken
 * by reference as they are added, and only those whose registering call runs inside the
 * tfjs-backend-wasm package (its stack frames): a handler that user code adds meanwhile, or had
 * added before, is never touched. A bundle that inlines tfjs-backend-wasm under another file name
 * keeps emscripten's listeners, which is stock TF.js behaviour.
 */
async function withoutEmscriptenListeners<T>(init: () => Promise<T>): Promise<T> {
  const added: [string | symbol, Listener][] = [];
  const note = (event: string | symbol, listener: Listener) => {
    if (!CRASH_EVENTS.includes(event)) return;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 64;
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    if (/[\\/]tfjs-backend-wasm[\\/]/.test(stack)) added.push([event, listener]);
  };
  process.on('newListener', note);
  try {
    return await init();
  } finally {
    process.removeListener('newListener', note);
    for (const [event, listener] of added) process.removeListener(event, listener);
  }
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
 * When it initializes 'wasm' itself in Node, it removes the two process listeners that
 * emscripten's module adds at that moment ('uncaughtException' rethrowing every error,
 * 'unhandledRejection' throwing); listeners anyone else added are left alone. If wasm was
 * initialized before (e.g. by `tf.ready()`), emscripten's listeners stay, as in stock TF.js.
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
