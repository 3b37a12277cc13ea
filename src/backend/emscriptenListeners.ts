// '@tensorflow/tfjs' itself, not ../tf.js: tf.ts imports this file (see registerKernels.ts).
import * as tf from '@tensorflow/tfjs';

type Listener = (...args: unknown[]) => void;
const CRASH_EVENTS: readonly (string | symbol)[] = ['uncaughtException', 'unhandledRejection'];

/** tfjs-backend-wasm's priority (its WASM_PRIORITY): above cpu (1), below tfjs-node's tensorflow (3). */
const WASM_PRIORITY = 2;

/**
 * Runs `init` and then removes the process listeners that emscripten's glue code in
 * tfjs-backend-wasm added while it ran: an 'uncaughtException' listener that rethrows every error
 * (printing the module's minified source with it, and exiting with code 7 instead of the user's
 * own) and an 'unhandledRejection' listener that throws the reason. They outlive the backend and
 * would fire on the user's own errors.
 *
 * Node announces each listener with 'newListener' before adding it, so the listeners are taken
 * by reference as they are added, and only those whose registering call runs inside the
 * tfjs-backend-wasm package (its stack frames): a handler that user code adds meanwhile, or had
 * added before, is never touched. A bundle that inlines tfjs-backend-wasm under another file name
 * keeps emscripten's listeners, which is stock TF.js behaviour.
 */
export async function withoutEmscriptenListeners<T>(init: () => Promise<T>): Promise<T> {
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

/**
 * Re-registers the wasm backend with its own factory wrapped in {@link withoutEmscriptenListeners},
 * so that however wasm starts (`tf.ready()`, `tf.setBackend('wasm')`, the first op, `useBackend`),
 * an error in the caller's code ends the process with the caller's exit code and stack, as on
 * every other backend. Global, because the listeners are: emscripten adds them to `process`.
 * Only through TF.js's public backend registry (findBackendFactory, removeBackend,
 * registerBackend), at the same priority, and only while no backend has started, so nothing
 * running is disposed. Node only: a web page has no process listeners.
 */
export function wrapWasmFactory(): void {
  const factory = tf.findBackendFactory('wasm');
  if (factory === null || tf.getBackend() !== undefined) return;
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => withoutEmscriptenListeners(async () => factory()), WASM_PRIORITY);
}
