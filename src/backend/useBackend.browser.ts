import { InputError } from '../errors.js';
import { tf } from '../tf.js';
import { type BackendName, checkBackendName } from './backendName.js';

export type { BackendName };

/** Our kernels first (wasm), then the GPU, then plain JavaScript. */
const AUTO = ['wasm', 'webgl', 'cpu'] as const;

async function start(name: string): Promise<boolean> {
  if (!(await tf.setBackend(name))) return false;
  await tf.ready();
  return true;
}

/** The browser build's useBackend (see useBackend.ts for the contract). */
export async function useBackend(name: BackendName = 'auto'): Promise<string> {
  checkBackendName(name);
  if (name === 'cuda' || name === 'tensorflow') {
    throw new InputError(`backend '${name}' needs Node (libtensorflow); in a web page use 'auto', 'webgl', 'wasm' or 'cpu'`);
  }
  if (name !== 'auto') {
    if (!(await start(name))) throw new InputError(`backend '${name}' failed to initialize in this browser; use 'auto' to take the first that starts`);
    return tf.getBackend();
  }
  for (const candidate of AUTO) {
    if (await start(candidate)) return tf.getBackend();
  }
  throw new InputError(`no TF.js backend could initialize in this browser (tried ${AUTO.join(', ')})`);
}
