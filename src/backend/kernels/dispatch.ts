import type { Conv2DAttrs, DepthwiseConv2dNativeAttrs, TensorInfo } from '@tensorflow/tfjs-core';

/** Input channels from which our 1×1 matrix product beats XNNPACK's on wasm. */
const MIN_GEMM_CHANNELS = 32;
/** Output pixels (N·H·W rows of the product) from which it does; below, it is a matrix-vector product. */
const MIN_GEMM_ROWS = 8;
/**
 * The product reads a block of weight columns down all input channels, one row every Co floats.
 * When Co has a large power-of-two factor, those rows land in few cache sets and evict each other:
 * above this power of two, or from this product of it and the input channels, XNNPACK's packed
 * weights win.
 */
const MAX_ALIASED_STRIDE = 512;
const MAX_ALIASED_FOOTPRINT = 2 ** 18;

/**
 * Weights (input × output channels) beyond which they no longer stay in cache from one block of
 * rows to the next: our product does not tile them, XNNPACK's does. First measured at 2^19
 * (0.84–1.18× beyond it); on 2026-12-02 and 12-03 MobileNetV2's last conv, 320 → 1280 (409,600
 * weights), took 1.16–1.50× stock's time at batch 1 and 32, so the cap is 2^18, the largest
 * size where ours was measured faster (every 1×1 conv that wins is ≤ 25k weights).
 */
const MAX_GEMM_WEIGHTS = 2 ** 18;

/** The largest power of two that divides `n` (n > 0). */
const powerOfTwoFactor = (n: number) => n & -n;

const pair = (v: number | [number, number] | null | undefined): [number, number] =>
  v == null ? [1, 1] : typeof v === 'number' ? [v, v] : v;

/**
 * Whether XNNPACK, behind the stock wasm Conv2D and DepthwiseConv2dNative (and their fused forms),
 * computes other numbers than stock cpu for this 'same' conv: where TensorFlow's total pad along
 * an axis, (⌈in / s⌉ − 1)·s + (k − 1)·d + 1 − in, is negative, TensorFlow clamps it to 0, while
 * XNNPACK's TensorFlow-'same' mode (in the version stock wasm ships) computes it unsigned, without
 * the clamp. That happens only for strides above 1, when the dilated filter is shorter than the
 * rows a stride leaves at the end ((in − 1) mod s + 1), and only matters for a filter larger than
 * 1×1 (a 1×1 one is right). Conv2D then gives wrong numbers (x [1,8,5,6], a 1×2 filter, strides
 * [2,3]: off by up to 10), depthwise convs all zeros (x [1,3,5,5], a 2×5 filter, stride 3). Found
 * by comparing both stock kernels over filter sizes 1–6, strides 1–4, dilations 1–3, multipliers
 * 1–3, batches, channels and input sizes 1–12: wrong exactly here, right everywhere else.
 */
export function xnnpackSamePadIsWrong(x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs | DepthwiseConv2dNativeAttrs): boolean {
  if (attrs.pad !== 'same') return false;
  const [, h = 0, w = 0] = x.shape;
  const [kh = 0, kw = 0] = filter.shape;
  if (kh <= 1 && kw <= 1) return false;
  const strides = pair(attrs.strides);
  const dilations = pair(attrs.dilations);
  return [[h, kh], [w, kw]].some(([size, k], i) => {
    const out = Math.ceil(size! / strides[i]!);
    return (out - 1) * strides[i]! + (k! - 1) * dilations[i]! + 1 - size! < 0;
  });
}

/** Whether the stock wasm conv gives stock cpu's numbers for this geometry and bias. */
function stockComputesCorrectly(
  x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs | DepthwiseConv2dNativeAttrs, bias: TensorInfo | null | undefined,
): boolean {
  const { pad } = attrs;
  if (pad !== 'same' && pad !== 'valid') return false;
  if (xnnpackSamePadIsWrong(x, filter, attrs)) return false;
  const [, , , outChannels = 0] = filter.shape;
  return bias == null || (bias.shape.length === 1 && bias.shape[0] === outChannels);
}

/** True when a conv pads nothing: a 1×1 filter under 'same' or 'valid', or explicit zero pads. */
function unpadded(pad: Conv2DAttrs['pad']): boolean {
  if (pad === 'same' || pad === 'valid') return true;
  if (typeof pad === 'number') return pad === 0;
  return pad.every(([before, after]) => before === 0 && after === 0);
}

/**
 * Whether a forward conv (or depthwise conv) should run on the stock TF.js kernel rather than
 * this library's, on `backend`. The classes come from `npm run bench:kernels` (docs/performance.md,
 * "Forward kernels against stock TF.js"), which times both on shapes from VGG, ResNet,
 * MobileNetV2/V3 and EfficientNet at batch 1 and 32; the rule is that, wherever stock computes the
 * same numbers as stock cpu, ours must never be slower than stock (where it does not, ours runs,
 * slower or not).
 *
 * - 'cpu': never. The stock cpu convs are scalar JavaScript; ours took 0.003–0.41× their time on
 *   every shape measured.
 * - 'wasm', depthwise: stock (ours is 1.1–2.4× slower on 3×3 and strided filters, though faster
 *   on 5×5 stride-1 ones), except where {@link xnnpackSamePadIsWrong}: there stock gives zeros.
 * - 'wasm', Conv2D: ours only for what our kernel runs as one blocked matrix product that beats
 *   XNNPACK: a 1×1 filter, stride 1, no padding, ≥ 32 input channels, ≥ 8 output pixels, a
 *   multiple of 4 output channels whose largest power-of-two factor P is ≤ 512 with
 *   P · input channels < 2^18, and at most 2^18 weights (0.5–0.95× stock's time). Every larger filter (3×3 convs 1.4–2.7×
 *   slower, the 1- and 3-channel stems 1.2–1.8×), strided 1×1s (1.7×), 1×1s with 16–24 input
 *   channels (up to 1.23×), matrix-vector products of 1–2 pixels (up to 1.8×), 3 output channels
 *   (1.6×) and cache-aliased weights (1024 or 2048 output channels: 1.25–2.1×; 2048 → 256: 1.3×;
 *   at P · input channels = 2^18, e.g. 512 → 512, about even) and larger weight matrices (a
 *   1024 → 1000 classifier: 0.77–2.4×, up to 1.18× at 1536 → 1000; MobileNetV2's last conv,
 *   320 → 1280: 1.16–1.50×) stay on XNNPACK's kernel.
 *
 * @example
 * if (preferStockConv(heap.backend, x, filter, attrs, false)) return null; // stock kernel runs
 */
export function preferStockConv(
  backend: 'wasm' | 'cpu', x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs | DepthwiseConv2dNativeAttrs, depthwise: boolean,
  bias?: TensorInfo | null,
): boolean {
  if (backend === 'cpu') return false;
  if (depthwise) return !xnnpackSamePadIsWrong(x, filter, attrs);
  // Speed never outranks numbers: the stock wasm FusedConv2D takes only rank-1 biases, and its
  // results for explicit pads were wrong in the randomized differential tests (test/fuzz) and in
  // tfjs-core's own specs. Those stay ours. (Activations other than linear, relu and relu6 never
  // get here: the SIMD module does not apply them, so convForward hands those convs to the stock
  // kernel first, whose elu, sigmoid, prelu and leakyrelu agree with stock cpu.)
  if (!stockComputesCorrectly(x, filter, attrs, bias)) return false;
  const [kh = 0, kw = 0, , outChannels = 0] = filter.shape;
  const [sh, sw] = pair(attrs.strides);
  if (kh !== 1 || kw !== 1 || sh !== 1 || sw !== 1 || !unpadded(attrs.pad)) return true;
  const [n = 0, h = 0, w = 0, channels = 0] = x.shape;
  if (channels < MIN_GEMM_CHANNELS || n * h * w < MIN_GEMM_ROWS) return true;
  // Output channels beyond a multiple of 4 are computed one scalar column at a time.
  if (outChannels % 4 !== 0 || channels * outChannels > MAX_GEMM_WEIGHTS) return true;
  const stride = powerOfTwoFactor(outChannels);
  return stride > MAX_ALIASED_STRIDE || stride * channels >= MAX_ALIASED_FOOTPRINT;
}
