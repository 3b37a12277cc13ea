import type { Conv2DAttrs, DepthwiseConv2dNativeAttrs, TensorInfo } from '@tensorflow/tfjs-core';

/** Input channels from which our 1×1 matrix product beats XNNPACK's on wasm. */
const MIN_GEMM_CHANNELS = 32;
/** Output pixels (N·H·W rows of the product) from which it does; below, it is a matrix-vector product. */
const MIN_GEMM_ROWS = 8;

const pair = (v: number | [number, number] | null | undefined): [number, number] =>
  v == null ? [1, 1] : typeof v === 'number' ? [v, v] : v;

/** True when a conv pads nothing: a 1×1 filter under 'same' or 'valid', or explicit zero pads. */
function unpadded(pad: Conv2DAttrs['pad']): boolean {
  if (pad === 'same' || pad === 'valid') return true;
  if (typeof pad === 'number') return pad === 0;
  return pad.every(([before, after]) => before === 0 && after === 0);
}

/**
 * Whether a forward conv (or depthwise conv) should run on the stock TF.js kernel rather than
 * this library's, on `backend`. The classes come from `npm run bench:kernels` (README, "Forward
 * kernels against stock"), which times both on shapes from VGG, ResNet, MobileNetV2/V3 and
 * EfficientNet at batch 1 and 32; the rule is that ours must never be slower than stock.
 *
 * - 'cpu': never. The stock cpu convs are scalar JavaScript; ours took 0.003–0.41× their time on
 *   every shape measured.
 * - 'wasm', depthwise: always (ours is not registered there: 1.1–2.4× slower on 3×3 and strided
 *   filters, though faster on 5×5 stride-1 ones).
 * - 'wasm', Conv2D: ours only for what our kernel runs as one blocked matrix product that beats
 *   XNNPACK: a 1×1 filter, stride 1, no padding, ≥ 32 input channels and ≥ 8 output pixels
 *   (0.49–0.98× stock's time). Every larger filter (3×3 convs 1.4–2.7× slower, the 1- and
 *   3-channel stems 1.2–1.8×), strided 1×1s (1.7×), 1×1s with 16–24 input channels (up to 1.23×)
 *   and matrix-vector products of 1–2 pixels (up to 1.8×) stay on XNNPACK's kernel.
 *
 * @example
 * if (preferStockConv(heap.backend, x, filter, attrs, false)) return null; // stock kernel runs
 */
export function preferStockConv(
  backend: 'wasm' | 'cpu', x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs | DepthwiseConv2dNativeAttrs, depthwise: boolean,
): boolean {
  if (backend === 'cpu') return false;
  if (depthwise) return true;
  const [kh, kw] = filter.shape;
  const [sh, sw] = pair(attrs.strides);
  if (kh !== 1 || kw !== 1 || sh !== 1 || sw !== 1 || !unpadded(attrs.pad)) return true;
  const [n = 0, h = 0, w = 0, channels = 0] = x.shape;
  return channels < MIN_GEMM_CHANNELS || n * h * w < MIN_GEMM_ROWS;
}
