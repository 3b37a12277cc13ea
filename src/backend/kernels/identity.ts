import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { shareBuffer } from '../internals.js';

/**
 * Identity on wasm as a shared reference, as the cpu backend and wasm's own Reshape do. The
 * stock wasm Identity allocates and copies, and the engine runs it for every tensor it saves for
 * the backward pass (~900 times per MobileNetV2 training step). TF.js tensors are immutable, so
 * sharing the buffer is safe.
 */
export const identityWasm: KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs as { x: TensorInfo };
    return shareBuffer(backend, x);
  },
};
