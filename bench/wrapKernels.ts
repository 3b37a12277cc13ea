import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { tf } from '../src/index.js';

/**
 * Re-registers every kernel of `backendName` as `wrap(kernelName, inner)`, for the profilers
 * (per-kernel time in profile.ts, live tensors in profileMemory.ts). Call after the library's
 * kernels are registered, so that theirs are what gets measured.
 */
export function wrapKernels(backendName: string, wrap: (kernelName: string, inner: KernelFunc) => KernelFunc): void {
  for (const config of tf.getKernelsForBackend(backendName) as KernelConfig[]) {
    const kernelFunc = wrap(config.kernelName, config.kernelFunc);
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({ ...config, kernelFunc });
  }
}
