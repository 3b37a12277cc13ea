import type { CastAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { shareBuffer } from '../internals.js';

/**
 * Cast on wasm, sharing the buffer when the dtype does not change (as the cpu backend does):
 * TF.js casts float32 to float32 in every BatchNorm's moments and Square gradient, and the stock
 * wasm kernel copies each time. Other casts go to `stock`.
 */
export function castWasm(stock: KernelConfig): KernelConfig {
  return {
    ...stock,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { dtype } = (args.attrs ?? {}) as Partial<CastAttrs>;
      if (x.dtype !== dtype || dtype === 'string') return stock.kernelFunc(args);
      return shareBuffer(args.backend, x, dtype);
    },
  };
}
