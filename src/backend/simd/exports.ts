import type * as tf from '@tensorflow/tfjs';
import type { BinaryOp, MaskFlag, ScalarOp } from './ops.js';

/** A byte offset into the module's memory; 0 stands for an absent optional tensor. */
export type Ptr = number;

/**
 * The functions the SIMD module exports, each declared as its C prototype (same parameters in
 * the same order; `int` and `float` are numbers, pointers {@link Ptr}). Only {@link bindKernels}
 * calls them: kernels use the structured {@link SimdKernels}.
 */
export interface SimdExports {
  conv2d(
    x: Ptr, w: Ptr, y: Ptr, N: number, H: number, W: number, Ci: number, OH: number, OW: number, Co: number,
    KH: number, KW: number, SH: number, SW: number, PT: number, PL: number, DH: number, DW: number,
  ): void;
  conv2d_backprop_filter(
    x: Ptr, dy: Ptr, dw: Ptr, N: number, H: number, W: number, Ci: number, OH: number, OW: number, Co: number,
    KH: number, KW: number, SH: number, SW: number, PT: number, PL: number,
  ): void;
  conv2d_backprop_input(
    dy: Ptr, w: Ptr, dx: Ptr, N: number, H: number, W: number, Ci: number, OH: number, OW: number, Co: number,
    KH: number, KW: number, SH: number, SW: number, PT: number, PL: number, wt: Ptr,
  ): void;
  depthwise_conv2d(
    x: Ptr, w: Ptr, y: Ptr, N: number, H: number, W: number, C: number, OH: number, OW: number, M: number,
    KH: number, KW: number, SH: number, SW: number, PT: number, PL: number, DH: number, DW: number,
  ): void;
  depthwise_backprop_filter(
    x: Ptr, dy: Ptr, dw: Ptr, N: number, H: number, W: number, C: number, OH: number, OW: number, M: number,
    KH: number, KW: number, SH: number, SW: number, PT: number, PL: number, DH: number, DW: number,
  ): void;
  depthwise_backprop_input(
    dy: Ptr, w: Ptr, dx: Ptr, N: number, H: number, W: number, C: number, OH: number, OW: number, M: number,
    KH: number, KW: number, SH: number, SW: number, PT: number, PL: number, DH: number, DW: number,
  ): void;
  batch_norm(
    x: Ptr, mean: Ptr, variance: Ptr, scale: Ptr, offset: Ptr, eps: number, R: number, C: number, y: Ptr, k: Ptr,
  ): void;
  batch_norm_grad(
    dy: Ptr, x: Ptr, mean: Ptr, variance: Ptr, scale: Ptr, eps: number, R: number, C: number, dx: Ptr, dmean: Ptr,
    dvariance: Ptr, dscale: Ptr, doffset: Ptr, k: Ptr, batchStats: 0 | 1, count: number,
  ): void;
  moving_average(moving: Ptr, batch: Ptr, out: Ptr, n: number, decay: number): void;
  reduce_rows(x: Ptr, out: Ptr, R: number, C: number, scale: number): void;
  batch_moments(x: Ptr, mean: Ptr, variance: Ptr, R: number, C: number): void;
  broadcast_rows(src: Ptr, out: Ptr, R: number, C: number, divisor: number): void;
  mask_grad(dy: Ptr, x: Ptr, dx: Ptr, n: number, lo: number, hi: number, flags: MaskFlag): void;
  scalar_min_max(x: Ptr, s: number, out: Ptr, n: number, op: ScalarOp): void;
  binary_rows(a: Ptr, b: Ptr, out: Ptr, R: number, C: number, op: BinaryOp, swap: 0 | 1): void;
  square_grad(dy: Ptr, x: Ptr, dx: Ptr, n: number): void;
  slice4(
    src: Ptr, out: Ptr, d1: number, d2: number, d3: number, b0: number, b1: number, b2: number, b3: number,
    s0: number, s1: number, s2: number, s3: number,
  ): void;
  pad4(
    src: Ptr, out: Ptr, d0: number, d1: number, d2: number, d3: number, b0: number, b1: number, b2: number, b3: number,
    o1: number, o2: number, o3: number, o0: number, value: number,
  ): void;
  adam(
    w: Ptr, m: Ptr, v: Ptr, g: Ptr, w2: Ptr, m2: Ptr, v2: Ptr, n: number, b1: number, omb1: number, b2: number,
    omb2: number, c1: number, c2: number, eps: number, neglr: number,
  ): void;
}

/** The geometry of a convolution as the conv entry points take it (NHWC, filter [KH, KW, C, ·]). */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  /** Output channels, or the channel multiplier of a depthwise conv. */
  channels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  /** Padding before the first row and column (the rest only shows up as output rows that exist). */
  padTop: number;
  padLeft: number;
  dilationHeight: number;
  dilationWidth: number;
}

/** The geometry TF.js computed (computeConv2DInfo), with `channels` as {@link ConvGeometry.channels}. */
export function convGeometry(info: tf.backend_util.Conv2DInfo, channels: number): ConvGeometry {
  return {
    batch: info.batchSize, inHeight: info.inHeight, inWidth: info.inWidth, inChannels: info.inChannels,
    outHeight: info.outHeight, outWidth: info.outWidth, channels,
    filterHeight: info.filterHeight, filterWidth: info.filterWidth, strideHeight: info.strideHeight, strideWidth: info.strideWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left, dilationHeight: info.dilationHeight, dilationWidth: info.dilationWidth,
  };
}

/** A tensor seen as `rows` × `channels` floats (channels last). */
export interface Rows {
  rows: number;
  channels: number;
}

/** Four dimensions, outermost first: the 4-D view of a tensor of rank ≤ 4 that slice and pad take. */
export type Dims4 = readonly [number, number, number, number];

/** `values` (at most four) left-padded with `fill` to {@link Dims4}. */
export function dims4(values: readonly number[], fill: number): Dims4 {
  const [a, b, c, d] = [...Array<number>(4 - values.length).fill(fill), ...values];
  return [a!, b!, c!, d!];
}

/** FusedBatchNorm's forward over rows of channels; scale and offset may be 0 (absent). */
export interface BatchNormArgs extends Rows {
  x: Ptr;
  mean: Ptr;
  variance: Ptr;
  scale: Ptr;
  offset: Ptr;
  epsilon: number;
  y: Ptr;
  /** Scratch of `channels` floats (scale·rsqrt(var + eps)), or 0. */
  scratch: Ptr;
}

/** The gradient of FusedBatchNorm for every input; scale may be 0 (absent, then 1). */
export interface BatchNormGradArgs extends Rows {
  dy: Ptr;
  x: Ptr;
  mean: Ptr;
  variance: Ptr;
  scale: Ptr;
  epsilon: number;
  dx: Ptr;
  dmean: Ptr;
  dvariance: Ptr;
  dscale: Ptr;
  doffset: Ptr;
  /** Scratch of 2·channels floats, 3·channels with `batchStatistics`. */
  scratch: Ptr;
  /** Whether mean and variance are x's own batch statistics, so that dx includes their path back to x. */
  batchStatistics: boolean;
}

/** The scalars of one Adam step, as TF.js's AdamOptimizer has them. */
export interface AdamScalars {
  beta1: number;
  beta2: number;
  /** 1 − β1^t and 1 − β2^t, as float32 values (TF.js computes them as float32 tensors). */
  biasCorrection1: number;
  biasCorrection2: number;
  epsilon: number;
  learningRate: number;
}

/** One Adam step of one variable (see adam.c). */
export interface AdamArgs extends AdamScalars {
  value: Ptr;
  m: Ptr;
  v: Ptr;
  gradient: Ptr;
  newValue: Ptr;
  newM: Ptr;
  newV: Ptr;
  size: number;
}

/** The interval of mask_grad: dx = dy where x lies in (lo, hi), closed and NaN handling by `flags`. */
export interface MaskInterval {
  lo: number;
  hi: number;
  flags: MaskFlag;
}

/** The SIMD module's functions with structured arguments, as kernels call them. */
export interface SimdKernels {
  conv2d(x: Ptr, filter: Ptr, y: Ptr, g: ConvGeometry): void;
  conv2dBackpropFilter(x: Ptr, dy: Ptr, dw: Ptr, g: ConvGeometry): void;
  /** `transposedFilter`: scratch of inChannels·channels floats for 1×1 convs (or 0), see conv2d.c. */
  conv2dBackpropInput(dy: Ptr, filter: Ptr, dx: Ptr, g: ConvGeometry, transposedFilter: Ptr): void;
  depthwiseConv2d(x: Ptr, filter: Ptr, y: Ptr, g: ConvGeometry): void;
  depthwiseBackpropFilter(x: Ptr, dy: Ptr, dw: Ptr, g: ConvGeometry): void;
  depthwiseBackpropInput(dy: Ptr, filter: Ptr, dx: Ptr, g: ConvGeometry): void;
  batchNorm(a: BatchNormArgs): void;
  batchNormGrad(a: BatchNormGradArgs): void;
  /** out = moving − (moving − batch)·decay over `size` floats. */
  movingAverage(moving: Ptr, batch: Ptr, out: Ptr, size: number, decay: number): void;
  /** out[c] = scale · Σ_r x[r][c]. */
  reduceRows(x: Ptr, out: Ptr, shape: Rows, scale: number): void;
  /** Per-channel mean and biased variance over the rows. */
  batchMoments(x: Ptr, mean: Ptr, variance: Ptr, shape: Rows): void;
  /** out[r][c] = src[c] / divisor. */
  broadcastRows(src: Ptr, out: Ptr, shape: Rows, divisor: number): void;
  maskGrad(dy: Ptr, x: Ptr, dx: Ptr, size: number, interval: MaskInterval): void;
  scalarMinMax(x: Ptr, scalar: number, out: Ptr, size: number, op: ScalarOp): void;
  /** out[r][c] = a[r][c] ∘ b[c], or b[c] ∘ a[r][c] when `swap`. */
  binaryRows(a: Ptr, b: Ptr, out: Ptr, shape: Rows, op: BinaryOp, swap: boolean): void;
  squareGrad(dy: Ptr, x: Ptr, dx: Ptr, size: number): void;
  slice(src: Ptr, out: Ptr, dims: Dims4, begin: Dims4, size: Dims4): void;
  /** out (`outDims`) holds src (`dims`) at offset `begin` (negative: cropped), `value` elsewhere. */
  pad(src: Ptr, out: Ptr, dims: Dims4, begin: Dims4, outDims: Dims4, value: number): void;
  adam(a: AdamArgs): void;
}

/** {@link SimdKernels} over one instance of the module. */
export function bindKernels(e: SimdExports): SimdKernels {
  return {
    conv2d: (x, w, y, g) => e.conv2d(x, w, y, ...dilated(g)),
    conv2dBackpropFilter: (x, dy, dw, g) => e.conv2d_backprop_filter(x, dy, dw, ...undilated(g)),
    conv2dBackpropInput: (dy, w, dx, g, wt) => e.conv2d_backprop_input(dy, w, dx, ...undilated(g), wt),
    depthwiseConv2d: (x, w, y, g) => e.depthwise_conv2d(x, w, y, ...dilated(g)),
    depthwiseBackpropFilter: (x, dy, dw, g) => e.depthwise_backprop_filter(x, dy, dw, ...dilated(g)),
    depthwiseBackpropInput: (dy, w, dx, g) => e.depthwise_backprop_input(dy, w, dx, ...dilated(g)),
    batchNorm: (a) => e.batch_norm(a.x, a.mean, a.variance, a.scale, a.offset, a.epsilon, a.rows, a.channels, a.y, a.scratch),
    batchNormGrad: (a) => e.batch_norm_grad(
      a.dy, a.x, a.mean, a.variance, a.scale, a.epsilon, a.rows, a.channels, a.dx, a.dmean, a.dvariance, a.dscale, a.doffset,
      a.scratch, a.batchStatistics ? 1 : 0, a.rows /* the count, as float32 */,
    ),
    movingAverage: (moving, batch, out, size, decay) => e.moving_average(moving, batch, out, size, decay),
    reduceRows: (x, out, { rows, channels }, scale) => e.reduce_rows(x, out, rows, channels, scale),
    batchMoments: (x, mean, variance, { rows, channels }) => e.batch_moments(x, mean, variance, rows, channels),
    broadcastRows: (src, out, { rows, channels }, divisor) => e.broadcast_rows(src, out, rows, channels, divisor),
    maskGrad: (dy, x, dx, size, { lo, hi, flags }) => e.mask_grad(dy, x, dx, size, lo, hi, flags),
    scalarMinMax: (x, scalar, out, size, op) => e.scalar_min_max(x, scalar, out, size, op),
    binaryRows: (a, b, out, { rows, channels }, op, swap) => e.binary_rows(a, b, out, rows, channels, op, swap ? 1 : 0),
    squareGrad: (dy, x, dx, size) => e.square_grad(dy, x, dx, size),
    // The outermost dimension of the source does not enter its strides.
    slice: (src, out, [, d1, d2, d3], begin, size) => e.slice4(src, out, d1, d2, d3, ...begin, ...size),
    pad: (src, out, dims, begin, [o0, o1, o2, o3], value) => e.pad4(src, out, ...dims, ...begin, o1, o2, o3, o0, value),
    adam: (a) => e.adam(
      a.value, a.m, a.v, a.gradient, a.newValue, a.newM, a.newV, a.size,
      // 1 − β is rounded to float32 from a double, as TF.js does when it makes the scalar tensor.
      a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.biasCorrection1, a.biasCorrection2, a.epsilon, -a.learningRate,
    ),
  };
}

type Undilated = [number, number, number, number, number, number, number, number, number, number, number, number, number];
type Dilated = [...Undilated, number, number];

/** N, H, W, C, OH, OW, channels, KH, KW, SH, SW, PT, PL: the geometry of the conv gradients without dilations. */
const undilated = (g: ConvGeometry): Undilated => [
  g.batch, g.inHeight, g.inWidth, g.inChannels, g.outHeight, g.outWidth, g.channels,
  g.filterHeight, g.filterWidth, g.strideHeight, g.strideWidth, g.padTop, g.padLeft,
];

/** The same followed by DH, DW. */
const dilated = (g: ConvGeometry): Dilated => [...undilated(g), g.dilationHeight, g.dilationWidth];
