/**
 * Random cases for every kernel and gradient this library registers (registerKernels.ts):
 * each draws its shapes, dtypes, attrs and values from an {@link Rng} and returns a function
 * that runs it through TF.js's public ops (or `runKernel` directly, which skips the ops'
 * checks), so that the same case can run with stock and with library kernels.
 */
import { tf } from '../../src/tf.js';
import { batchMoments, batchNormWithBatchStatistics, movingAverages } from '../../src/training/trainingOps.js';
import { type DType, Rng } from './random.js';

export interface FuzzCase {
  /** The generator, e.g. `conv2d`. */
  kind: string;
  /** Shapes, dtypes and attrs, to reproduce a failure by eye. */
  desc: string;
  /** Compare bit for bit (sign of zero included): elementwise kernels round as stock does. */
  exact: boolean;
  run(): tf.Tensor | tf.Tensor[];
  /**
   * What the reference runs instead of `run`, where the stock kernel itself is wrong on this
   * backend (its result is then not compared with stock wasm's either).
   */
  reference?(): tf.Tensor | tf.Tensor[];
}

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
type Pair = [number, number];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Data for one tensor, made into a tensor only inside `run` (on the backend under test). */
function data(rng: Rng, shape: number[], dtype: DType = 'float32', special = rng.chance(0.3)) {
  const values = rng.values(size(shape), dtype, special);
  return { shape, dtype, make: () => tf.tensor(values, shape, dtype) };
}

const show = (o: object) => JSON.stringify(o);

interface ConvGeometry {
  x: number[];
  filter: number[];
  strides: number | Pair;
  dilations: number | Pair;
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * A conv's geometry: size-1 and empty dims, strides 1–3, dilations, depthwise multipliers 1–3,
 * every kind of padding. On wasm only geometries with a non-empty output and 'same'/'valid'/
 * non-negative explicit pads: stock wasm convs, which the library leaves in place for most depthwise
 * forwards, write outside the heap for the others.
 */
function convGeometry(rng: Rng, depthwise: boolean): ConvGeometry {
  for (;;) {
    const g = anyConvGeometry(rng, depthwise);
    if (!rng.wasm || convOut(g, depthwise)?.every((d) => d > 0)) return g;
  }
}

function anyConvGeometry(rng: Rng, depthwise: boolean): ConvGeometry {
  const ci = rng.dim(6);
  const out = depthwise ? rng.int(1, 3) /* multiplier */ : rng.pick([1, 2, 3, 4, 5, 8, 12, 16, 17, 20, 32]);
  const dilated = rng.chance(0.2);
  const strides: number | Pair = dilated ? 1 : rng.chance(0.7) ? rng.int(1, 3) : [rng.int(1, 3), rng.int(1, 3)];
  const dilations: number | Pair = dilated ? [rng.int(1, 3), rng.int(1, 3)] : 1;
  const side = () => (!rng.wasm && rng.chance(0.15) ? rng.int(-2, -1) : rng.int(0, 3));
  const kind = rng.pick(rng.wasm ? (['same', 'valid', 'explicit'] as const) : (['same', 'valid', 'explicit', 'number'] as const));
  const pad: Pad =
    kind === 'explicit' ? [[0, 0], [side(), side()], [side(), side()], [0, 0]] : kind === 'number' ? rng.int(0, 2) : kind;
  const geometry: ConvGeometry = {
    x: [rng.dim(3), rng.dim(8), rng.dim(8), ci],
    filter: [rng.int(1, 4), rng.int(1, 4), ci, out],
    strides, dilations, pad,
  };
  if (kind === 'number' && rng.chance(0.5)) geometry.dimRoundingMode = rng.pick(['floor', 'round', 'ceil'] as const);
  return geometry;
}

const pairOf = (v: number | Pair): Pair => (typeof v === 'number' ? [v, v] : v);

/**
 * Whether stock wasm (XNNPACK's TensorFlow-'same' padding) is known to compute this NHWC
 * geometry wrongly: 'same', a filter larger than 1×1, and along an axis the dilated filter
 * shorter than the (in − 1) mod s + 1 rows the last stride leaves (TensorFlow's total pad is
 * negative there). Conv2D gets wrong numbers, depthwise convs zeros; wasm cases of it are compared
 * with stock cpu only, never with stock wasm (src/backend/kernels/dispatch.ts routes them to ours).
 */
function stockWasmWrong(g: ConvGeometry): boolean {
  if (g.pad !== 'same' || g.filter[0]! * g.filter[1]! <= 1) return false;
  const [strides, dilations] = [pairOf(g.strides), pairOf(g.dilations)];
  return [0, 1].some((i) => (g.filter[i]! - 1) * dilations[i]! + 1 < ((g.x[i + 1]! - 1) % strides[i]!) + 1);
}

/** The output shape TF.js computes for a geometry, or null where TF.js rejects it. */
function convOut(g: ConvGeometry, depthwise: boolean): number[] | null {
  try {
    const info = tf.backend_util.computeConv2DInfo(
      g.x as [number, number, number, number], g.filter as [number, number, number, number],
      g.strides, g.dilations, g.pad, g.dimRoundingMode, depthwise,
    );
    return info.outShape.every((d) => Number.isInteger(d) && d >= 0) ? info.outShape : null;
  } catch {
    return null;
  }
}

function conv(g: ConvGeometry, depthwise: boolean, x: tf.Tensor4D, f: tf.Tensor4D, dataFormat: 'NHWC' | 'NCHW' = 'NHWC') {
  return depthwise
    ? tf.depthwiseConv2d(x, f, g.strides, g.pad, dataFormat, g.dilations, g.dimRoundingMode)
    : tf.conv2d(x, f, g.strides, g.pad, dataFormat, g.dilations, g.dimRoundingMode);
}

/** [0, …, rank − 2]: the axes a channels-last BatchNormalization's batch statistics reduce. */
const leading = (rank: number) => Array.from({ length: rank - 1 }, (_, i) => i);

/**
 * A BatchNormalization input: mostly small random shapes (empty and size-1 dims included), some
 * image-like ones (3-channel 96 px, MobileNetV2's channel counts, odd counts) that span many
 * of the moments kernel's row tiles; some far from 0 (≈ 1e3 ± 2), where a variance computed as
 * E[x²] − E[x]² would lose every digit. (Not for gradients: there x − mean, with the mean's
 * rounding, decides every digit of dx, in stock as in the library.)
 */
function bnInput(rng: Rng, farFromZero = rng.chance(0.3)) {
  const shape = rng.chance(0.15)
    ? rng.pick([[2, 96, 96, 3], [1, 48, 48, 16], [2, 24, 24, 24], [3, 12, 12, 96], [1, 7, 7, 1280], [5, 13, 13, 7], [1, 300, 5], [700, 3]])
    : rng.shape(rng.int(1, 4), 6);
  const offset = farFromZero ? 1000 : 0;
  const values = rng.values(size(shape), 'float32', rng.chance(0.3)).map((v) => Math.fround(v + offset));
  return { shape, offset, make: () => tf.tensor(values, shape, 'float32') };
}

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'prelu', 'leakyrelu'] as const;

const generators: Record<string, [number /* weight */, (rng: Rng) => FuzzCase]> = {
  conv2d: [3, (rng) => {
    const depthwise = rng.chance(0.4);
    const g = convGeometry(rng, depthwise);
    const dataFormat = rng.chance(0.05) ? 'NCHW' : 'NHWC';
    const x = data(rng, g.x);
    const f = data(rng, g.filter);
    const run = () => conv(g, depthwise, x.make() as tf.Tensor4D, f.make() as tf.Tensor4D, dataFormat);
    return {
      kind: depthwise ? 'depthwiseConv2d' : 'conv2d', desc: show({ ...g, dataFormat }), exact: false, run,
      ...(rng.wasm && dataFormat === 'NHWC' && stockWasmWrong(g) && { reference: run }),
    };
  }],

  fusedConv2d: [3, (rng) => {
    const depthwise = rng.chance(0.4);
    const g = convGeometry(rng, depthwise);
    const out = convOut(g, depthwise) ?? [1, 1, 1, g.filter[3]! * (depthwise ? g.x[3]! : 1)];
    const channels = out[3]!;
    // Stock wasm's FusedDepthwiseConv2D (which runs outside stockWasmWrong's class) takes rank-1 biases only.
    const biasShape = depthwise && rng.wasm
      ? rng.pick([null, [channels]])
      : rng.pick([null, [channels], [1], [], [1, 1, channels], [1, 1, 1, channels], [out[0]!, 1, 1, 1], [out[1]!, out[2]!, channels], [1, out[2]!, 1]]);
    // On wasm the depthwise forward is mostly stock's, whose elu/leakyrelu/prelu gradients differ
    // from stock cpu's by more than rounding; the library's kernels there are the backprops. The
    // same holds for a gradient through any conv larger than 1×1, which src/backend/kernels/dispatch.ts
    // mostly leaves to the stock (XNNPACK) forward on wasm: a taped fused conv runs unfused.
    const stockForward = rng.wasm && (depthwise || g.filter[0]! * g.filter[1]! > 1);
    const activation = rng.pick(stockForward ? ACTIVATIONS.slice(0, 3) : ACTIVATIONS);
    const prelu = activation === 'prelu' ? data(rng, rng.pick([[channels], [1], [1, 1, channels]])) : null;
    const leakyreluAlpha = activation === 'leakyrelu' ? Math.fround(rng.float()) : undefined;
    // No NaN/inf where wasm's forward is stock's: XNNPACK multiplies padding by them (Inf·0 = NaN)
    // where stock cpu skips padded taps.
    const special = !stockForward && rng.chance(0.3);
    const x = data(rng, g.x, 'float32', special);
    const f = data(rng, g.filter, 'float32', special);
    const bias = biasShape === null ? null : data(rng, biasShape, 'float32', special);
    const withGradient = rng.chance(0.3) && convOut(g, depthwise) !== null;
    const dy = data(rng, out, 'float32', special);
    const run = () => {
      const op = (xt: tf.Tensor4D, ft: tf.Tensor4D, b?: tf.Tensor) => {
        const args = {
          x: xt, filter: ft, strides: g.strides, pad: g.pad as 'same', dilations: g.dilations, dimRoundingMode: g.dimRoundingMode,
          bias: b, activation, preluActivationWeights: prelu?.make(), leakyreluAlpha,
        };
        return depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
      };
      const inputs = [x.make(), f.make(), ...(bias ? [bias.make()] : [])];
      if (!withGradient) return op(inputs[0] as tf.Tensor4D, inputs[1] as tf.Tensor4D, inputs[2]);
      return tf.grads((...t: tf.Tensor[]) => op(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, t[2]))(inputs, dy.make());
    };
    return {
      kind: depthwise ? 'fusedDepthwiseConv2d' : 'fusedConv2d',
      desc: show({ ...g, bias: biasShape, activation, prelu: prelu?.shape, leakyreluAlpha, withGradient }),
      exact: false, run,
      // (A bias that is not one value per channel stock wasm rejects with an error, which the
      // library keeps where it cannot fuse that bias: matching stock wasm there passes.)
      ...(rng.wasm && stockWasmWrong(g) && (biasShape === null || sameShape(biasShape, [channels])) && { reference: run }),
    };
  }],

  convGradients: [3, (rng) => {
    const depthwise = rng.chance(0.5);
    const g = convGeometry(rng, depthwise);
    const out = convOut(g, depthwise) ?? [1, 1, 1, 1];
    const x = data(rng, g.x);
    const f = data(rng, g.filter);
    const dy = data(rng, out);
    return {
      kind: depthwise ? 'depthwiseConv2dGradients' : 'conv2dGradients', desc: show(g), exact: false,
      run: () => tf.grads((xt: tf.Tensor, ft: tf.Tensor) => conv(g, depthwise, xt as tf.Tensor4D, ft as tf.Tensor4D))([x.make(), f.make()], dy.make()),
    };
  }],

  // Conv2DBackpropInput as conv2dTranspose calls it: dy may be larger than the conv of the
  // output shape gives (stock reads its top-left part).
  conv2dTranspose: [1, (rng) => {
    const g = convGeometry(rng, false);
    const [n, h, w, ci] = g.x;
    // On wasm no dy smaller than the conv of outputShape gives: stock wasm reads past its end.
    const least = rng.wasm ? (convOut({ ...g, dimRoundingMode: undefined, pad: typeof g.pad === 'number' ? 'same' : g.pad }, false) ?? [1, 1, 1, 1]) : [0, 0, 0, 0];
    const dyShape = [n!, Math.max(rng.dim(8), least[1]!), Math.max(rng.dim(8), least[2]!), g.filter[3]!];
    const outputShape: [number, number, number, number] = [n!, h!, w!, ci!];
    const dy = data(rng, dyShape);
    const f = data(rng, g.filter);
    const pad = typeof g.pad === 'number' ? 'same' : g.pad;
    const strides = typeof g.strides === 'number' ? g.strides : g.strides;
    return {
      kind: 'conv2dTranspose', desc: show({ dyShape, outputShape, filter: g.filter, strides, pad }), exact: false,
      run: () => tf.conv2dTranspose(dy.make() as tf.Tensor4D, f.make() as tf.Tensor4D, outputShape, strides, pad),
    };
  }],

  // Kernels called directly, as a converted graph model does: no op-level checks, attrs that
  // may disagree with the input shapes.
  directConvKernel: [2, (rng) => {
    const depthwise = rng.chance(0.4);
    const g = convGeometry(rng, depthwise);
    const out = convOut(g, depthwise) ?? [1, 1, 1, 1];
    const bad = (shape: number[]) => (!rng.wasm && rng.chance(0.3) ? shape.map((d) => (rng.chance(0.3) ? d + rng.int(-1, 2) : d)) : shape);
    const kernel = rng.pick(depthwise
      ? ['DepthwiseConv2dNative', 'FusedDepthwiseConv2D', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']
      : ['Conv2D', 'FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput']);
    const x = data(rng, bad(g.x).map((d) => Math.max(d, 0)));
    const f = data(rng, bad(g.filter).map((d) => Math.max(d, 0)));
    const dy = data(rng, bad(out).map((d) => Math.max(d, 0)));
    const attrs = {
      strides: g.strides, pad: g.pad, dilations: !rng.wasm && rng.chance(0.2) ? [rng.int(1, 2), rng.int(1, 2)] : g.dilations,
      dimRoundingMode: g.dimRoundingMode, dataFormat: 'NHWC', filterShape: bad(g.filter), inputShape: bad(g.x), activation: 'linear',
    };
    const run = () => {
      const inputs: Record<string, tf.Tensor> = kernel.includes('BackpropFilter')
        ? { x: x.make(), dy: dy.make() }
        : kernel.includes('BackpropInput') ? { dy: dy.make(), filter: f.make() } : { x: x.make(), filter: f.make() };
      return tf.engine().runKernel(kernel, inputs, attrs as never) as tf.Tensor;
    };
    return {
      kind: `runKernel ${kernel}`, desc: show({ x: x.shape, filter: f.shape, dy: dy.shape, ...attrs }), exact: false, run,
      ...(rng.wasm && !kernel.includes('Backprop') && stockWasmWrong(g) && { reference: run }),
    };
  }],

  binary: [3, (rng) => {
    const rank = rng.int(0, 5);
    const full = rng.shape(rank, 5);
    const other = rng.pick([
      () => full,
      () => full.slice(rng.int(0, rank)),
      () => [1],
      () => [],
      () => full.map((d) => (rng.chance(0.5) ? 1 : d)),
      () => [...Array<number>(rng.int(0, 2)).fill(1), ...full.slice(rank - 1)],
      () => rng.shape(rng.int(0, 4), 4), // often incompatible
    ])();
    const [aShape, bShape] = rng.chance(0.5) ? [full, other] : [other, full];
    const dtypes: DType[] = ['float32', 'float32', 'float32', 'int32', 'bool'];
    const a = data(rng, aShape, rng.pick(dtypes));
    const b = data(rng, bShape, rng.chance(0.8) ? a.dtype : rng.pick(dtypes));
    const op = rng.pick(['add', 'sub', 'mul', 'div'] as const);
    return {
      kind: op, desc: show({ a: [a.dtype, aShape], b: [b.dtype, bShape] }), exact: true,
      run: () => tf[op](a.make(), b.make()),
    };
  }],

  minMax: [2, (rng) => {
    const shape = rng.shape(rng.int(0, 4), 6);
    const scalarShape = rng.pick([[], [1], [1, 1], [1, 1, 1, 1, 1]]);
    const dtype = rng.chance(0.85) ? 'float32' : 'int32';
    const x = data(rng, shape, dtype);
    const value = rng.chance(0.4) ? rng.pick([Number.NaN, 0, -0, Infinity, -Infinity]) : Math.fround(rng.float() * 4 - 2);
    const scalarFirst = rng.chance(0.5);
    const op = rng.pick(['minimum', 'maximum'] as const);
    return {
      kind: op, desc: show({ shape, scalarShape, dtype, value: String(value), scalarFirst }), exact: true,
      run: () => {
        const s = tf.tensor(dtype === 'int32' ? [Math.trunc(value) || 0] : [value], scalarShape, dtype);
        return scalarFirst ? tf[op](s, x.make()) : tf[op](x.make(), s);
      },
    };
  }],

  unary: [1, (rng) => {
    // No bool on wasm: stock wasm's Square/Relu of bool return uninitialized memory.
    const x = data(rng, rng.shape(rng.int(0, 4), 6), rng.pick(rng.wasm ? (['float32', 'float32', 'int32'] as const) : (['float32', 'float32', 'int32', 'bool'] as const)));
    const op = rng.pick(['relu', 'square', 'relu6'] as const);
    return { kind: op, desc: show({ shape: x.shape, dtype: x.dtype }), exact: true, run: () => tf[op](x.make()) };
  }],

  reduce: [2, (rng) => {
    const rank = rng.int(0, 4);
    const x = data(rng, rng.shape(rank, 6), rng.pick(['float32', 'float32', 'float32', 'int32', 'bool'] as const));
    const axisKind = rng.int(0, 3);
    const axis =
      axisKind === 0 ? undefined
      : axisKind === 1 ? Array.from({ length: rng.int(0, rank) }, (_, i) => i) // leading
      : axisKind === 2 ? (rank > 0 ? rng.int(-rank, rank - 1) : undefined)
      : Array.from({ length: rank }, (_, i) => i).filter(() => rng.chance(0.5));
    const keepDims = rng.chance(0.5);
    const op = rng.pick(['sum', 'mean'] as const);
    return { kind: op, desc: show({ shape: x.shape, dtype: x.dtype, axis, keepDims }), exact: false, run: () => tf[op](x.make(), axis, keepDims) };
  }],

  slice: [2, (rng) => {
    const shape = rng.shape(rng.int(1, 5), 6);
    const x = data(rng, shape, rng.pick(['float32', 'float32', 'int32'] as const));
    const begin = shape.map((d) => (rng.chance(0.05) ? d + 1 : rng.int(0, d)));
    const sliceSize = shape.map((d, i) => (rng.chance(0.15) ? -1 : rng.chance(0.05) ? d + 2 : rng.int(0, Math.max(0, d - begin[i]!))));
    return { kind: 'slice', desc: show({ shape, dtype: x.dtype, begin, size: sliceSize }), exact: true, run: () => tf.slice(x.make(), begin, sliceSize) };
  }],

  pad: [2, (rng) => {
    // Empty dims on wasm too: stock wasm's PadV2 fills those without reading x.
    const shape = Array.from({ length: rng.int(1, 6) }, () => (rng.chance(0.04) ? 0 : rng.dim(5)));
    const x = data(rng, shape, rng.pick(['float32', 'float32', 'int32', 'bool'] as const));
    // Negative paddings (crops) of every dtype and rank: stock wasm writes outside its output for
    // them, the library crops.
    const side = () => (rng.chance(0.2) ? -rng.int(1, 3) : rng.int(0, 3));
    const paddings = shape.map((): Pair => [side(), side()]);
    // Not −3 for bool: stock cpu stores what a Uint8Array makes of it (253), stock wasm's pad (which
    // the library's crop ends with) true, as without crops.
    const value = rng.pick(x.dtype === 'bool' ? [0, 1, 1.5, -0, Number.NaN, Infinity] : [0, 1.5, -0, Number.NaN, Infinity, -3]);
    // Sometimes paddings that are not one whole pair per axis, as a direct kernel call can pass
    // (the library rejects them on wasm, where stock reads past them).
    const malformed = rng.chance(0.05)
      ? rng.pick([paddings.slice(1), [...paddings, [0, 1]], paddings.map(([a, b]): Pair => [a + 0.5, b])])
      : null;
    const crops = rng.wasm && paddings.some(([a, b]) => a < 0 || b < 0);
    return {
      kind: malformed ? 'runKernel PadV2' : 'pad', desc: show({ shape, dtype: x.dtype, paddings: malformed ?? paddings, value: String(value) }), exact: true,
      run: () => (malformed ? tf.engine().runKernel('PadV2', { x: x.make() }, { paddings: malformed, constantValue: value } as never) as tf.Tensor : tf.pad(x.make(), paddings, value)),
      // On wasm the library crops (see padV2.ts): pad by the positive parts, slice off the rest.
      ...(crops && !malformed && {
        reference: () => {
          const padded = tf.pad(x.make(), paddings.map(([a, b]): Pair => [Math.max(a, 0), Math.max(b, 0)]), value);
          const out = shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
          if (out.some((d) => d < 0)) throw new Error('negative output');
          return tf.slice(padded, paddings.map(([a]) => Math.max(-a, 0)), out);
        },
      }),
    };
  }],

  batchNorm: [3, (rng) => {
    // Some rows wider than 160 channels, which the kernel streams row by row.
    const x = data(rng, rng.chance(0.1) ? rng.pick([[1, 3, 3, 200], [2, 2, 170], [3, 161]]) : rng.shape(rng.int(1, 4), 5));
    const channels = x.shape[x.shape.length - 1]!;
    const statShape = rng.pick([[channels], [channels], [1], [...Array<number>(x.shape.length - 1).fill(1), channels]]);
    const statDtype = rng.chance(0.15) ? 'int32' : 'float32';
    const mean = data(rng, statShape, statDtype);
    // Mostly non-negative variances; some negative ones and specials.
    const varValues = rng.values(size(statShape), statDtype, rng.chance(0.2)).map((v) => (rng.chance(0.1) ? v : Math.abs(v)));
    const variance = { make: () => tf.tensor(varValues, statShape, statDtype) };
    const offset = rng.chance(0.7) ? data(rng, statShape) : null;
    const scale = rng.chance(0.7) ? data(rng, statShape) : null;
    const epsilon = rng.pick([0.001, 1e-5, 0.1, 0]);
    const withGradient = rng.chance(0.5) && statDtype === 'float32';
    const dy = data(rng, x.shape);
    return {
      kind: withGradient ? 'batchNormGradients' : 'batchNorm',
      desc: show({ x: x.shape, stats: [statDtype, statShape], offset: !!offset, scale: !!scale, epsilon }), exact: false,
      run: () => {
        const inputs = [x.make(), mean.make(), variance.make(), ...(offset ? [offset.make()] : []), ...(scale ? [scale.make()] : [])];
        const op = (...t: tf.Tensor[]) => tf.batchNorm(t[0]!, t[1]!, t[2]!, offset ? t[3] : undefined, scale ? t[offset ? 4 : 3] : undefined, epsilon);
        return withGradient ? tf.grads(op)(inputs, dy.make()) : op(...inputs);
      },
    };
  }],

  // The gradients this library replaces (Relu, Relu6, Minimum, Mean, Square; FusedBatchNorm
  // above), once and of their gradients.
  gradients: [4, (rng) => {
    const shape = rng.shape(rng.int(1, 4), 5);
    const x = data(rng, shape);
    const dy = data(rng, shape);
    const c = rng.chance(0.3) ? rng.pick([0, -0, Number.NaN, Infinity, -Infinity, 6]) : Math.fround(rng.float() * 2 - 1);
    const axes = Array.from({ length: rng.int(0, shape.length) }, (_, i) => i);
    // A run of consecutive axes anywhere (global average pooling reduces [1, 3) of NHWC).
    const runStart = rng.int(0, shape.length - 1);
    const run = Array.from({ length: rng.int(1, shape.length - runStart) }, (_, i) => runStart + i);
    const fns: Record<string, (t: tf.Tensor) => tf.Tensor> = {
      relu: (t) => tf.relu(t),
      relu6: (t) => tf.relu6(t),
      minimumScalarRight: (t) => tf.minimum(t, tf.scalar(c)),
      minimumScalarLeft: (t) => tf.minimum(tf.scalar(c), t),
      mean: (t) => tf.mul(tf.mean(t, axes, true), t),
      meanOfRun: (t) => tf.mul(tf.reshape(tf.mean(t, run), shape.map((d, i) => (run.includes(i) ? 1 : d))), t),
      square: (t) => tf.square(t),
      squareOfMean: (t) => tf.square(tf.sub(t, tf.mean(t, axes, true))),
      moments: (t) => tf.batchNorm(t, ...(Object.values(tf.moments(t, axes.length ? axes : [0])) as [tf.Tensor, tf.Tensor])),
    };
    const name = rng.pick(Object.keys(fns));
    const order = rng.chance(0.35) ? 2 : 1;
    const fn = fns[name]!;
    return {
      kind: `grad${order === 2 ? '(grad)' : ''} ${name}`, desc: show({ shape, c: String(c), axes, run }), exact: order === 1 && !['mean', 'meanOfRun', 'squareOfMean', 'moments'].includes(name),
      run: () => {
        const first = (t: tf.Tensor) => tf.grad((u: tf.Tensor) => fn(u))(t, dy.make());
        if (order === 1) return first(x.make());
        return tf.grad((t: tf.Tensor) => tf.mul(first(t), t))(x.make(), dy.make());
      },
    };
  }],

  convSecondOrder: [1, (rng) => {
    const depthwise = rng.chance(0.4);
    const g = convGeometry(rng, depthwise);
    const out = convOut(g, depthwise) ?? [1, 1, 1, 1];
    const x = data(rng, g.x, 'float32', false);
    const f = data(rng, g.filter, 'float32', false);
    const r = data(rng, out, 'float32', false);
    return {
      kind: depthwise ? 'grad(grad) depthwiseConv2d' : 'grad(grad) conv2d', desc: show(g), exact: false,
      run: () => {
        const xt = x.make() as tf.Tensor4D;
        const rt = r.make();
        // d/dfilter of |d/dx <conv(x, filter), r>|²: the inner gradient is Conv2DBackpropInput.
        return tf.grad((ft: tf.Tensor) => tf.sum(tf.square(tf.grad((u: tf.Tensor) => tf.sum(tf.mul(conv(g, depthwise, u as tf.Tensor4D, ft as tf.Tensor4D), rt)))(xt))))(f.make());
      },
    };
  }],

  // BatchNormalization in training (src/training/trainingOps.ts): the batch statistics, y with
  // its gradient through them, and the moving averages, against the stock compositions.
  batchMoments: [2, (rng) => {
    const x = bnInput(rng);
    return {
      kind: 'batchMoments', desc: show({ x: x.shape, offset: x.offset }), exact: false,
      run: () => {
        const { mean, variance } = batchMoments(x.make());
        return [mean, variance];
      },
      reference: () => {
        const t = x.make();
        const { mean, variance } = tf.moments(t, leading(t.rank));
        return [mean, variance];
      },
    };
  }],

  batchNormTraining: [2, (rng) => {
    const x = bnInput(rng, false);
    const channels = x.shape[x.shape.length - 1]!;
    const gamma = rng.chance(0.8) ? data(rng, [channels]) : null;
    const beta = rng.chance(0.8) ? data(rng, [channels]) : null;
    // With one row dx is exactly 0 (y = beta whatever x is), and stock's is the rounding of
    // dy·rsqrt(eps)·gamma minus itself summed in another order: above the tolerance for eps = 1e-5.
    // With two rows and eps = 0 the same holds (y = ±gamma + beta): both sides are the rounding
    // of terms of size dy·gamma/σ, unbounded as the two values get close (seed 2026, case 6900).
    const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const epsilon = rng.pick(rows === 1 ? [0.001, 0.1, 0] : rows === 2 ? [0.001, 1e-5, 0.1] : [0.001, 1e-5, 0.1, 0]);
    const dy = data(rng, x.shape);
    const gradients = (norm: (t: tf.Tensor, g?: tf.Tensor, b?: tf.Tensor) => tf.Tensor) => {
      const inputs = [x.make(), ...(gamma ? [gamma.make()] : []), ...(beta ? [beta.make()] : [])];
      const f = (...t: tf.Tensor[]) => norm(t[0]!, gamma ? t[1] : undefined, beta ? t[gamma ? 2 : 1] : undefined);
      const { value, grads } = tf.valueAndGrads(f)(inputs, dy.make());
      return [value, ...grads];
    };
    return {
      kind: 'batchNormTraining', desc: show({ x: x.shape, gamma: !!gamma, beta: !!beta, epsilon }), exact: false,
      run: () => gradients((t, g, b) => {
        const { y, mean, variance } = batchNormWithBatchStatistics(t, g, b, epsilon);
        tf.dispose([mean, variance]);
        return y;
      }),
      // Stock's FusedBatchNorm gradient fails without a scale or an offset: ones and zeros stand in.
      reference: () => gradients((t, g, b) => {
        const { mean, variance } = tf.moments(t, leading(t.rank));
        const channel = [t.shape[t.rank - 1]!];
        return tf.batchNorm(t, mean, variance, b ?? tf.zeros(channel), g ?? tf.ones(channel), epsilon);
      }),
    };
  }],

  movingAverages: [1, (rng) => {
    const shape = [rng.dim(40)];
    const [movingMean, movingVariance, mean, variance] = [0, 1, 2, 3].map(() => data(rng, shape));
    const momentum = rng.pick([0.99, 0.9, 0.999, 0.5, 0.1, 0, 1]);
    const make = () => [movingMean, movingVariance, mean, variance].map((d) => d!.make());
    return {
      kind: 'movingAverages', desc: show({ shape, momentum }), exact: true,
      run: () => {
        const [mm, mv, m, v] = make();
        return movingAverages(mm!, mv!, m!, v!, momentum);
      },
      reference: () => {
        const [mm, mv, m, v] = make();
        return [tf.sub(mm!, tf.mul(tf.sub(mm!, m!), 1 - momentum)), tf.sub(mv!, tf.mul(tf.sub(mv!, v!), 1 - momentum))];
      },
    };
  }],

  adam: [1, (rng) => {
    const shape = rng.shape(rng.int(0, 3), 6);
    const steps = rng.int(1, 3);
    const grads = Array.from({ length: steps }, () => data(rng, shape, 'float32', rng.chance(0.1)));
    const init = data(rng, shape, 'float32', false);
    const dtype = rng.chance(0.1) ? 'int32' : 'float32';
    const config = { lr: Math.fround(rng.float() * 0.1), beta1: rng.pick([0.9, 0.5]), beta2: rng.pick([0.999, 0.9]), epsilon: rng.pick([1e-7, 1e-3]) };
    return {
      kind: 'adam', desc: show({ shape, steps, dtype, ...config }), exact: true,
      run: () => {
        const v = tf.variable(init.make(), true, undefined, dtype);
        const optimizer = tf.train.adam(config.lr, config.beta1, config.beta2, config.epsilon);
        try {
          for (const g of grads) {
            const tensor = tf.tidy(() => tf.cast(g.make(), dtype));
            optimizer.applyGradients([{ name: v.name, tensor }]);
            tensor.dispose();
          }
          return tf.clone(v);
        } finally {
          v.dispose();
          optimizer.dispose();
        }
      },
    };
  }],

  // Identity and Cast share buffers on wasm: the copy must outlive the original.
  identityCast: [1, (rng) => {
    const from = rng.pick(['float32', 'int32', 'bool'] as const);
    const to = rng.pick(['float32', 'int32', 'bool', from] as const);
    const x = data(rng, rng.shape(rng.int(0, 3), 5), from);
    const op = rng.pick(['clone', 'cast', 'reshape'] as const);
    return {
      kind: op, desc: show({ shape: x.shape, from, to }), exact: true,
      run: () => {
        const t = x.make();
        const y = op === 'clone' ? tf.clone(t) : op === 'cast' ? tf.cast(t, to) : tf.reshape(t, [-1]);
        t.dispose();
        return tf.add(y, tf.zerosLike(y));
      },
    };
  }],
};

const table = Object.entries(generators).flatMap(([, [weight, generate]]) => Array<typeof generate>(weight).fill(generate));

/**
 * Case number `index` of the stream `seed` for `backend`: the same on every run, independent
 * of the others. The C code and its checks are the same on both backends; see {@link Rng} for
 * what wasm cases leave out.
 */
export function generateCase(seed: number, index: number, backend: 'cpu' | 'wasm'): FuzzCase {
  const rng = new Rng((seed * 0x9e3779b1 + index * 0x85ebca6b) >>> 0, backend === 'wasm');
  return rng.pick(table)(rng);
}
