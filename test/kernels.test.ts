/**
 * This library's wasm/cpu kernels and gradients against TF.js's stock cpu kernels.
 *
 * Every case is computed twice from the same seeded inputs: first with the stock kernels and
 * gradients restored on the cpu backend (the reference), then with this library's on 'wasm'
 * and on 'cpu'. Error is max|got − ref| / max|ref|, which must stay ≤ 1e-4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { registerKernels, restoreStockKernels } from '../src/backend/registerKernels.js';
import { mobileNetV2Mnist } from '../src/models/mnist.js';
import { tf } from '../src/tf.js';
import { seededRandom } from '../src/training/random.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function rand(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const next = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => lo + (hi - lo) * next()), shape);
}

interface Case {
  name: string;
  run: () => tf.Tensor[];
}

const cases: Case[] = [];
const explicit: Pad = [[0, 0], [1, 2], [0, 1], [0, 0]];

interface ConvCase {
  x: Shape4;
  kernel: [number, number];
  outChannels: number;
  stride: number;
  pad: Pad;
}
const convCases: ConvCase[] = [
  { x: [1, 7, 7, 5], kernel: [3, 3], outChannels: 7, stride: 1, pad: 'same' },
  { x: [1, 8, 6, 3], kernel: [3, 3], outChannels: 6, stride: 2, pad: 'same' },
  { x: [1, 9, 9, 6], kernel: [3, 2], outChannels: 5, stride: 2, pad: 'valid' },
  { x: [1, 6, 7, 3], kernel: [3, 3], outChannels: 9, stride: 1, pad: explicit },
  { x: [64, 4, 5, 3], kernel: [3, 3], outChannels: 8, stride: 2, pad: 'same' },
  // Output channels in register blocks of 16 and 4 (the stem's shape: one input channel).
  { x: [64, 9, 9, 1], kernel: [3, 3], outChannels: 32, stride: 2, pad: 'valid' },
  { x: [1, 7, 6, 3], kernel: [3, 3], outChannels: 20, stride: 1, pad: explicit },
  // 1×1 convs take the blocked matrix-product path: rows and channels off multiples of 4 and 8.
  { x: [1, 5, 3, 13], kernel: [1, 1], outChannels: 11, stride: 1, pad: 'valid' },
  { x: [64, 3, 3, 22], kernel: [1, 1], outChannels: 37, stride: 1, pad: 'same' },
  { x: [2, 4, 4, 16], kernel: [1, 1], outChannels: 24, stride: 1, pad: 'valid' },
  { x: [1, 6, 5, 7], kernel: [1, 1], outChannels: 6, stride: 2, pad: 'valid' },
];
for (const [i, c] of convCases.entries()) {
  const label = `${c.x.join('x')} k${c.kernel.join('x')}→${c.outChannels} s${c.stride} ${JSON.stringify(c.pad)}`;
  const filterShape: Shape4 = [c.kernel[0], c.kernel[1], c.x[3], c.outChannels];
  const info = tf.backend_util.computeConv2DInfo(c.x, filterShape, c.stride, 1, c.pad);
  const dyShape = [c.x[0], info.outHeight, info.outWidth, c.outChannels];
  const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' as const };
  cases.push({
    name: `Conv2DBackpropFilter ${label}`,
    run: () => [
      tf.engine().runKernel('Conv2DBackpropFilter', { x: rand(c.x, i), dy: rand(dyShape, i + 100) }, { ...attrs, filterShape }) as tf.Tensor,
    ],
  });
  const activation = (['linear', 'relu', 'relu6'] as const)[i % 3]!;
  cases.push({
    name: `Conv2D and FusedConv2D (bias, ${activation}) ${label}`,
    run: () => {
      const x = rand(c.x, i + 1200);
      const filter = rand(filterShape, i + 1300);
      return [
        tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, c.stride, c.pad),
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: c.stride, pad: c.pad, bias: rand([c.outChannels], i + 1400), activation }),
      ];
    },
  });
  cases.push({
    name: `Conv2DBackpropInput ${label}`,
    run: () => [
      tf.engine().runKernel('Conv2DBackpropInput', { dy: rand(dyShape, i + 100), filter: rand(filterShape, i + 200) }, { ...attrs, inputShape: c.x }) as tf.Tensor,
    ],
  });
}

interface DepthwiseCase {
  x: Shape4;
  kernel: number;
  multiplier: number;
  stride: number;
  dilation: number;
  pad: Pad;
}
const depthwiseCases: DepthwiseCase[] = [
  { x: [1, 7, 7, 6], kernel: 3, multiplier: 1, stride: 1, dilation: 1, pad: 'same' },
  { x: [1, 8, 8, 5], kernel: 3, multiplier: 1, stride: 2, dilation: 1, pad: 'valid' },
  { x: [1, 9, 6, 3], kernel: 3, multiplier: 2, stride: 2, dilation: 1, pad: 'same' },
  { x: [1, 6, 6, 9], kernel: 3, multiplier: 1, stride: 1, dilation: 1, pad: explicit },
  { x: [64, 5, 4, 10], kernel: 3, multiplier: 1, stride: 2, dilation: 1, pad: 'same' },
  { x: [64, 3, 3, 13], kernel: 3, multiplier: 1, stride: 1, dilation: 1, pad: 'same' },
  { x: [2, 9, 8, 7], kernel: 3, multiplier: 1, stride: 1, dilation: 2, pad: 'same' },
];
for (const [i, c] of depthwiseCases.entries()) {
  const label = `${c.x.join('x')} k${c.kernel} m${c.multiplier} s${c.stride} d${c.dilation} ${JSON.stringify(c.pad)}`;
  const filterShape: Shape4 = [c.kernel, c.kernel, c.x[3], c.multiplier];
  const info = tf.backend_util.computeConv2DInfo(c.x, filterShape, c.stride, c.dilation, c.pad, undefined, true);
  const dyShape = [c.x[0], info.outHeight, info.outWidth, c.x[3] * c.multiplier];
  const attrs = { strides: c.stride, dilations: c.dilation, pad: c.pad };
  if (c.dilation > 1) continue; // TF.js has no gradient for dilated depthwise convs
  cases.push({
    name: `DepthwiseConv2dNativeBackpropFilter ${label}`,
    run: () => [
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: rand(c.x, i + 300), dy: rand(dyShape, i + 400) }, { ...attrs, filterShape }) as tf.Tensor,
    ],
  });
  const activation = (['relu6', 'linear', 'relu'] as const)[i % 3]!;
  cases.push({
    name: `DepthwiseConv2dNative and FusedDepthwiseConv2D (bias, ${activation}) ${label}`,
    run: () => {
      const x = rand(c.x, i + 1500) as tf.Tensor4D;
      const filter = rand(filterShape, i + 1600) as tf.Tensor4D;
      const bias = rand([c.x[3] * c.multiplier], i + 1700);
      return [
        tf.depthwiseConv2d(x, filter, c.stride, c.pad, 'NHWC', c.dilation),
        // (fused.depthwiseConv2d's type omits explicit padding, which it accepts)
        tf.fused.depthwiseConv2d({ x, filter, strides: c.stride, pad: c.pad as 'same', dilations: c.dilation, bias, activation }),
      ];
    },
  });
  cases.push({
    name: `DepthwiseConv2dNativeBackpropInput ${label}`,
    run: () => [
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: rand(dyShape, i + 400), filter: rand(filterShape, i + 500) }, { ...attrs, inputShape: c.x }) as tf.Tensor,
    ],
  });
}

for (const [i, shape] of [[1, 5, 5, 7], [64, 3, 2, 13], [3, 22], [2, 3, 3, 24]].entries()) {
  const channels = shape[shape.length - 1]!;
  const batchNorm = (withScale: boolean) => () => {
    const x = rand(shape, i + 600, -3, 3);
    const mean = rand([channels], i + 601);
    const variance = rand([channels], i + 602, 0.1, 2);
    const offset = rand([channels], i + 603);
    const scale = rand([channels], i + 604, 0.5, 1.5);
    const dy = rand(shape, i + 605);
    const f = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => tf.batchNorm(a, m, v, o, s, 1e-5);
    // Forward only without scale: TF.js cannot save an absent input for the backward pass.
    if (!withScale) return [tf.batchNorm(x, mean, variance, undefined, undefined, 1e-3)];
    return [f(x, mean, variance, offset, scale), ...tf.grads(f)([x, mean, variance, offset, scale], dy)];
  };
  cases.push({ name: `FusedBatchNorm and its gradient ${shape.join('x')}`, run: batchNorm(true) });
  cases.push({ name: `FusedBatchNorm without scale and offset ${shape.join('x')}`, run: batchNorm(false) });
}

// Activation gradients, with inputs exactly on the boundaries 0 and 6.
const activationInput = () => tf.concat([rand([64, 3, 3, 11], 700, -2, 8).flatten(), tf.tensor1d([0, 6, -0, 6.0000005, 5.9999995])]);
const withDy = (f: (x: tf.Tensor) => tf.Tensor) => () => {
  const x = activationInput();
  const dy = rand(x.shape, 701);
  return [f(x), ...tf.grads((a: tf.Tensor) => f(a))([x], dy)];
};
cases.push({ name: 'square and its gradient', run: withDy((x) => tf.square(x)) });
cases.push({ name: 'float32 Cast to float32 and int32', run: () => {
  const x = rand([5, 7], 1950, -3, 3);
  // A bool→float32 cast keeps its values in a Uint8Array on cpu; kernels must read them as numbers.
  const mask = tf.cast(tf.greater(x, 0), 'float32');
  return [
    tf.cast(x, 'float32'), tf.cast(x, 'int32').toFloat(), tf.grad((a: tf.Tensor) => tf.cast(a, 'float32').square())(x),
    tf.mul(mask, x), tf.relu(mask), tf.sum(mask, 0), tf.grad((a: tf.Tensor) => tf.relu(a).mul(mask))(x),
  ];
} });
cases.push({ name: 'BatchNorm training statistics (moments) and their gradients', run: () => {
  const x = rand([64, 3, 3, 13], 1960, -2, 3);
  const f = (a: tf.Tensor) => {
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.batchNorm(a, mean, variance, rand([13], 1963), rand([13], 1961), 1e-5).mul(rand([64, 3, 3, 13], 1962)).sum();
  };
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return [mean, variance, tf.grad(f)(x)];
} });
cases.push({ name: 'Keras ReLU6 minimum(6, relu(x)) and its gradient', run: withDy((x) => tf.minimum(6, tf.relu(x))) });
cases.push({ name: 'minimum(x, 6) and its gradient', run: withDy((x) => tf.minimum(x, 6)) });
cases.push({ name: 'maximum(x, 0.5)', run: withDy((x) => tf.maximum(x, 0.5)) });
cases.push({ name: 'relu6 and its gradient', run: withDy((x) => tf.relu6(x)) });

for (const [i, [shape, axis, keepDims]] of ([
  [[64, 3, 3, 13], [0, 1, 2], false],
  [[4, 5, 6, 37], [0, 1], true],
  [[7, 9], [0], false],
  [[3, 4, 5], [2, 0, 1], false],
  [[4, 5, 6], [1, 2], false],
] as [number[], number[], boolean][]).entries()) {
  cases.push({ name: `Sum/Mean over ${JSON.stringify(axis)} of ${shape.join('x')}, Mean's gradient`, run: () => {
    const x = rand(shape, 800 + i);
    const mean = (a: tf.Tensor) => tf.mean(a, axis, keepDims);
    return [tf.sum(x, axis, keepDims), mean(x), tf.grad(mean)(x, rand(mean(x).shape, 850 + i))];
  } });
}

cases.push({ name: 'Add/Sub/Multiply/RealDiv against channel vectors and scalars', run: () => {
  const x = rand([4, 5, 6, 7], 1100, 0.5, 2);
  const v = rand([7], 1101, 0.5, 2);
  const s = rand([], 1102, 0.5, 2);
  return [
    tf.mul(x, v), tf.sub(v, x), tf.div(x, s), tf.div(s, x), tf.add(rand([3, 5], 1103), rand([1, 5], 1104)),
    tf.mul(x, rand([6, 7], 1105)), tf.sub(x, rand([1, 1, 1, 7], 1106)), tf.div(v.reshape([1, 7]), rand([9, 7], 1107, 0.5, 2)),
    tf.mul(x, rand([4, 1, 6, 7], 1108)), tf.add(x, x), tf.sub(rand([13], 1109), rand([1], 1110)),
  ];
} });

cases.push({ name: 'PadV2 (ZeroPadding2D, rank 1–4, constant values)', run: () => [
  tf.pad(rand([3, 5, 6, 7], 1800), [[0, 0], [1, 1], [1, 2], [0, 0]]),
  tf.pad(rand([64, 4, 4, 3], 1801), [[0, 0], [0, 1], [1, 0], [0, 0]]),
  tf.pad(rand([2, 3, 5], 1802), [[1, 0], [2, 1], [0, 3]], 1.5),
  tf.pad(rand([7], 1803), [[2, 3]], -2),
  tf.pad(rand([4, 5], 1804), [[0, 0], [0, 0]]),
  tf.pad(rand([2, 3, 4, 6], 1805), [[1, 1], [0, 2], [2, 0], [1, 2]], 0.5),
] });

cases.push({ name: 'Relu and same-shape Add/Sub/Multiply/RealDiv', run: () => {
  const a = tf.concat([rand([64, 3, 3, 11], 1900, -2, 2).flatten(), tf.tensor1d([0, -0, NaN, -1e-30])]);
  const b = tf.concat([rand([64, 3, 3, 11], 1901, 0.5, 2).flatten(), tf.tensor1d([1, 2, 3, 4])]);
  return [tf.relu(a), tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.div(a, b), tf.add(rand([5, 7, 3], 1902), rand([5, 7, 3], 1903))];
} });

// The whole-tensor slices share x's buffer; tidy disposes x before the values are read.
cases.push({ name: 'Slice (ZeroPadding2D gradient, rank 1–3, whole tensor)', run: () => {
  const x4 = rand([3, 6, 7, 5], 900);
  return [
    tf.slice(x4, [0, 0, 0, 0], [3, 6, 7, 5]), tf.slice(rand([4, 9], 904), 0, -1), tf.slice(rand([5], 905), [0], [5]),
    tf.slice(x4, [0, 1, 1, 0], [3, 4, 5, 5]), tf.slice(x4, [1, 0, 2, 1], [2, 6, 3, 3]),
    tf.slice(rand([5, 7], 901), [1, 2], [3, 4]), tf.slice(rand([9], 902), [2], [5]), tf.slice(rand([2, 3, 4], 903), [0, 1, 0], [2, 2, 4]),
  ];
} });

function relativeError(got: Float32Array, ref: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ref[i]!) || Number.isNaN(got[i]!)) {
      if (!(Number.isNaN(ref[i]!) && Number.isNaN(got[i]!))) return Infinity;
      continue;
    }
    diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

async function evaluate(run: () => tf.Tensor[]): Promise<{ shapes: number[][]; values: Float32Array[] }> {
  const outs = tf.tidy(run);
  const values = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
  const shapes = outs.map((t) => t.shape);
  tf.dispose(outs);
  return { shapes, values };
}

/** Stock-kernel gradients of the small MNIST model: the whole-model reference. */
function modelGradients(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.Tensor[] {
  const { grads } = tf.variableGrads(() => {
    const logits = model.apply(x, { training: true }) as tf.Tensor;
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  });
  return model.trainableWeights.map((w) => grads[w.name]!);
}

const references = new Map<string, { shapes: number[][]; values: Float32Array[] }>();
let model: tf.LayersModel;
let modelReference: Float32Array[];
const modelInput = () => [rand([4, 28, 28, 1], 1000, 0, 1), tf.oneHot(tf.tensor1d([3, 1, 4, 1], 'int32'), 10).toFloat()];

beforeAll(async () => {
  await tf.ready();
  restoreStockKernels();
  await tf.setBackend('cpu');
  for (const c of cases) references.set(c.name, await evaluate(c.run));
  model = mobileNetV2Mnist({ alpha: 0.35, seed: 0, dropout: 0 });
  modelReference = (await evaluate(() => {
    const [x, y] = modelInput();
    return modelGradients(model, x!, y!);
  })).values;
  registerKernels();
});

describe.each(['wasm', 'cpu'])('kernels on %s against stock cpu', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const ref = references.get(c.name)!;
    const got = await evaluate(c.run);
    expect(got.shapes).toEqual(ref.shapes);
    got.values.forEach((v, i) => expect(relativeError(v, ref.values[i]!), `output ${i}`).toBeLessThanOrEqual(1e-4));
  });

  it('whole-model gradients of mobileNetV2Mnist({alpha: 0.35}), batch 4', async () => {
    const got = await evaluate(() => {
      const [x, y] = modelInput();
      return modelGradients(model, x!, y!);
    });
    expect(got.values.length).toBe(modelReference.length);
    // Per tensor ‖got − ref‖₂ / ‖ref‖₂: rounding differences pile up through ~50 layers of
    // float32 sums, so the largest single element is too noisy a measure here. Some gradients are
    // zero in exact arithmetic and only noise (e.g. the beta of a project BN: the next layer is a
    // conv into a training-mode BN, which ignores constant shifts); their norm is floored at 1e-3
    // of the largest tensor's.
    const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((m, v) => m + v * v, 0));
    const floor = 1e-3 * Math.max(...modelReference.map(norm));
    const errors = got.values.map((v, i) => {
      const ref = modelReference[i]!;
      return [model.trainableWeights[i]!.name, norm(v.map((q, j) => q - ref[j]!)) / Math.max(norm(ref), floor)] as const;
    });
    expect(errors.filter(([, e]) => !(e <= 1e-4))).toEqual([]);
    expect(Math.max(...errors.map(([, e]) => e))).toBeGreaterThan(0); // really two computations
  });
});
