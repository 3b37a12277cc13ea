import * as tf from '@tensorflow/tfjs';

/** Whether the active backend has `kernelName` (this library's kernels exist on wasm and cpu only). */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
