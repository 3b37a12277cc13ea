import * as tf from '@tensorflow/tfjs';

/**
 * Whether a gradient may use this library's kernel `kernelName`: the active backend has it
 * (wasm and cpu only), and no outer gradient is being recorded. The library's gradient kernels
 * have no gradients of their own, so under `tf.grad(tf.grad(f))` (the tape is on while the
 * inner gradient runs) TF.js's own, differentiable, gradient runs instead.
 */
export function useLibraryKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined && !tf.engine().isTapeOn();
}
