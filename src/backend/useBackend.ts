import { tf } from '../tf.js';

export type BackendName = 'auto' | 'cuda' | 'tensorflow' | 'wasm' | 'cpu';

/**
 * Selects and initializes a TF.js backend and returns the active backend's name.
 * (First version: wasm/cpu only; native backends and full error messages to come.)
 */
export async function useBackend(name: BackendName = 'auto'): Promise<string> {
  const target = name === 'auto' ? 'wasm' : name;
  if (!(await tf.setBackend(target))) await tf.setBackend('cpu');
  await tf.ready();
  return tf.getBackend();
}
