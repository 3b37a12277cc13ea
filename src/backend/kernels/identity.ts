import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';

interface RefCounting {
  incRef(dataId: TensorInfo['dataId']): void;
}

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
    (backend as unknown as RefCounting).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },
};
