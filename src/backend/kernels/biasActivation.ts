import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { SimdExports } from '../simd/heap.js';
import { sizeOf } from './validate.js';

/** The fused activations this library's forward kernels apply themselves. */
const ACTIVATIONS = ['linear', 'relu', 'relu6'] as const;

/**
 * Whether a fused conv's bias and activation can run here. The bias must broadcast onto the
 * output as one value or one value per output channel (shape `[..., 1, C]` or all ones, no
 * higher rank than the output): TF.js adds it with full broadcasting, so e.g. `[N, 1, 1, 1]`
 * is per batch item, not per channel, and goes to the stock kernel. prelu, leakyrelu and the
 * others need extra inputs or functions: stock kernel.
 */
export function supportsBiasActivation(bias: TensorInfo | undefined, activation: string | undefined, outShape: readonly number[]): boolean {
  if (!ACTIVATIONS.includes((activation ?? 'linear') as (typeof ACTIVATIONS)[number])) return false;
  if (bias === undefined) return true;
  const shape = bias.shape;
  const channels = outShape[outShape.length - 1];
  const leadingOnes = shape.slice(0, -1).every((d) => d === 1);
  return shape.length <= outShape.length && leadingOnes && (shape.length === 0 || shape.at(-1) === 1 || shape.at(-1) === channels);
}

/** y += bias, then the activation, in place, in TF.js's fused order (conv, bias, activation). */
export function applyBiasActivation(
  k: SimdExports, y: number, size: number, bias: TensorInfo | undefined, biasPtr: number, activation: string | undefined,
): void {
  if (bias !== undefined && size > 0) {
    const biasSize = sizeOf(bias.shape);
    k.binary_rows(y, biasPtr, y, size / biasSize, biasSize, 0 /* add */, 0 /* swap */);
  }
  if (activation === 'relu') k.scalar_min_max(y, 0, y, size, 2 /* relu */);
  if (activation === 'relu6') {
    k.scalar_min_max(y, 0, y, size, 2 /* relu */);
    k.scalar_min_max(y, 6, y, size, 0 /* min */);
  }
}
