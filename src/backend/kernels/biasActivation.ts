import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdExports } from '../simd/heap.js';

/** The fused activations this library's forward kernels apply themselves. */
const ACTIVATIONS = ['linear', 'relu', 'relu6'] as const;

/**
 * Whether a fused conv's bias and activation can run here: a bias per output channel or a single
 * value, and no activation or relu/relu6 (the others need extra inputs; the stock kernel runs).
 */
export function supportsBiasActivation(bias: TensorInfo | undefined, activation: string | undefined, channels: number): boolean {
  const biasSize = bias?.shape.reduce((a, b) => a * b, 1) ?? 1;
  return (biasSize === 1 || biasSize === channels) && ACTIVATIONS.includes((activation ?? 'linear') as (typeof ACTIVATIONS)[number]);
}

/** y += bias, then the activation, in place, in TF.js's fused order (conv, bias, activation). */
export function applyBiasActivation(
  k: SimdExports, y: number, size: number, bias: TensorInfo | undefined, biasPtr: number, activation: string | undefined,
): void {
  if (bias !== undefined) {
    const biasSize = bias.shape.reduce((a, b) => a * b, 1);
    k.binary_rows(y, biasPtr, y, size / biasSize, biasSize, 0 /* add */, 0 /* swap */);
  }
  if (activation === 'relu' || activation === 'relu6') k.scalar_min_max(y, 0, y, size, 1 /* max */);
  if (activation === 'relu6') k.scalar_min_max(y, 6, y, size, 0 /* min */);
}
