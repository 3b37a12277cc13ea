import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tf.js';
import { SIMD_BACKENDS, stockKernel } from './registerKernels.js';

/** What runs the math, for logs and UIs. */
export interface BackendInfo {
  /** The active TF.js backend: 'wasm', 'webgl', 'cpu', 'tensorflow', ... */
  name: string;
  /** True when this library's SIMD training kernels replace the backend's stock ones. */
  ownKernels: boolean;
  /** Threads of TF.js's wasm build: more than 1 only in a cross-origin isolated page; 1 elsewhere and on other backends. */
  threads: number;
  /** Whether the wasm build in use has SIMD (always false off wasm). */
  simd: boolean;
}

/**
 * Describes the active backend. Await `useBackend` (or `tf.ready()`) first.
 *
 * @example
 * await useBackend('auto');
 * const { name, ownKernels, threads } = await backendInfo(); // e.g. 'wasm', true, 4
 */
export async function backendInfo(): Promise<BackendInfo> {
  const name = tf.getBackend();
  const onWasm = name === 'wasm';
  const kernel = tf.getKernel('Conv2DBackpropFilter', name);
  return {
    name,
    ownKernels: (SIMD_BACKENDS as readonly string[]).includes(name) && kernel !== undefined && kernel !== stockKernel('Conv2DBackpropFilter', name),
    threads: onWasm ? getThreadsCount() : 1,
    simd: onWasm && (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true,
  };
}
