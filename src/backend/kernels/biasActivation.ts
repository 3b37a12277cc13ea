import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { Ptr, SimdKernels } from '../simd/exports.js';
import { BinaryOp, ScalarOp } from '../simd/ops.js';
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
  k: SimdKernels, y: Ptr, size: number, bias: TensorInfo | undefined, biasPtr: Ptr, activation: string | undefined,
): void {
  if (bias !== undefined && size > 0) {
    const biasSize = sizeOf(bias.shape);
    k.binaryRows(y, biasPtr, y, { rows: size / biasSize, channels: biasSize }, BinaryOp.Add, false);
  }
  if (activation === 'relu') k.scalarMinMax(y, 0, y, size, ScalarOp.Relu);
  if (activation === 'relu6') {
    k.scalarMinMax(y, 0, y, size, ScalarOp.Relu);
    k.scalarMinMax(y, 6, y, size, ScalarOp.Min);
  }
}
