/**
 * The differences from stock TF.js that issue 8 found in this library's kernels, each pinned
 * down against the stock kernels of the same backend (restored in the same process): what a
 * user of that backend gets without this library.
 */
import { describe, expect, it } from 'vitest';
import { registerKernels, restoreStockKernels } from '../src/backend/registerKernels.js';
import { tf } from '../src/tf.js';
import { seededRandom } from '../src/training/random.js';

type Run = () => tf.Tensor | tf.Tensor[];
type Outcome = { values: number[][] } | { error: string };

async function outcome(run: Run, backend: 'cpu' | 'wasm', kernels: 'stock' | 'library'): Promise<Outcome> {
  if (kernels === 'stock') restoreStockKernels();
  else registerKernels();
  await tf.setBackend(backend);
  try {
    return { values: tf.tidy(() => [run()].flat().map((t) => Array.from(t.dataSync()))) };
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    registerKernels();
  }
}

/**
 * Library on `backend` against stock: equal to stock cpu (NaN equals NaN, −0 differs from +0),
 * or, where stock wasm differs from stock cpu (it rejects rank-3 biases, ignores NaN in
 * min/max, reads int32 statistics as float32), equal to stock wasm.
 */
async function expectStock(run: Run, backend: 'cpu' | 'wasm'): Promise<void> {
  const got = await outcome(run, backend, 'library');
  const cpu = await outcome(run, 'cpu', 'stock');
  if (backend === 'wasm' && !isEqual(got, cpu)) expect(got).toEqual(await outcome(run, 'wasm', 'stock'));
  else expect(got).toEqual(cpu);
}

function isEqual(a: Outcome, b: Outcome): boolean {
  try {
    expect(a).toEqual(b);
    return true;
  } catch {
    return false;
  }
}

const nan = Number.NaN;

describe.each(['cpu', 'wasm'] as const)('on %s, as stock TF.js', (backend) => {
  it('a FusedConv2D bias that broadcasts per batch item or as [1, 1, C] / [1]', async () => {
    const x = () => tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
    const filter = () => tf.tensor4d([1, -1], [1, 1, 1, 2]);
    for (const bias of [[[10, 20], [2, 1, 1, 1]], [[10, 20], [1, 1, 2]], [[5], [1]]] as const) {
      await expectStock(() => tf.fused.conv2d({ x: x(), filter: filter(), strides: 1, pad: 'valid', bias: tf.tensor(bias[0], [...bias[1]]) }), backend);
    }
  });

  it('minimum and maximum against a NaN or zero scalar', async () => {
    const x = () => tf.tensor([-1, -0, 0, 2, nan, 7, -3, 0.5]);
    for (const s of [nan, 0, -0, 1]) {
      await expectStock(() => [tf.minimum(x(), s), tf.maximum(x(), s), tf.minimum(s, x()), tf.maximum(s, x())], backend);
    }
    // A NaN scalar gives NaN everywhere, as Math.min/Math.max do (stock wasm ignores it).
    const got = await outcome(() => tf.minimum(x(), nan), backend, 'library');
    expect(got).toEqual({ values: [Array(8).fill(nan)] });
  });

  it('the gradients of relu, relu6 and minimum at ±Infinity, NaN, −0 and against non-finite dy', async () => {
    const x = () => tf.tensor([Infinity, -Infinity, nan, -0, 0, 3, 6, 7, -2]);
    const dy = () => tf.tensor([1, 1, 1, -1, -1, Infinity, nan, -Infinity, -1]);
    for (const f of [tf.relu, tf.relu6, (t: tf.Tensor) => tf.minimum(t, 3), (t: tf.Tensor) => tf.minimum(-Infinity, t)]) {
      await expectStock(() => tf.grad((t: tf.Tensor) => f(t))(x(), dy()), backend);
    }
  });

  it('batchNorm with int32 mean and variance', async () => {
    await expectStock(() => tf.batchNorm(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([1, 2], 'int32'), tf.tensor1d([1, 4], 'int32')), backend);
  });

  it('grad(grad(x²)) and grad(grad(relu(x)·x))', async () => {
    const x = () => tf.tensor([-2, -0.5, 0.5, 3]);
    await expectStock(() => tf.grad((t: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.square(u))(t))(x()), backend);
    await expectStock(() => tf.grad((t: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.mul(tf.relu(u), u))(t))(x()), backend);
  });

  it('slice out of bounds is rejected with the stock error', async () => {
    for (const dtype of ['float32', 'int32'] as const) {
      const got = await outcome(() => tf.slice(tf.zeros([2, 3], dtype), [1, 1], [2, 2]), backend, 'library');
      expect(got).toEqual({ error: expect.stringContaining('would overflow input.shape[0]') });
    }
  });

  it('conv2dTranspose with a dy larger than the conv of the output shape gives', async () => {
    const dy = () => tf.ones([1, 8, 8, 8]) as tf.Tensor4D;
    const filter = () => tf.ones([8, 8, 8, 8]) as tf.Tensor4D;
    await expectStock(() => tf.conv2dTranspose(dy(), filter(), [1, 4, 4, 8], 1, 'same'), backend);
  });
});

describe('on wasm, where the stock kernel writes outside its buffers', () => {
  it('tf.pad with negative paddings crops, and later ops still work', async () => {
    registerKernels();
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    for (let i = 0; i < 50; i++) tf.tidy(() => tf.pad(x, [[-1, 1], [1, -2]], 9).dataSync());
    expect(Array.from(tf.pad(x, [[-1, 1], [1, -2]], 9).dataSync())).toEqual([9, 4, 9, 9]);
    expect(Array.from(tf.add(tf.ones([1000]), 1).sum().dataSync())).toEqual([2000]);
    expect(() => tf.pad(x, [[-2, -1], [0, 0]])).toThrow(/crop more than/);
    x.dispose();
  });

  it('a conv whose output size would be negative is rejected', async () => {
    registerKernels();
    await tf.setBackend('wasm');
    const run = () => tf.conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'valid', 'NHWC', 3);
    expect(run).toThrow(/larger than the padded input/);
  });
});

it('dilated depthwise convs with a negative output size give what stock gives, on cpu', async () => {
  await expectStock(() => tf.depthwiseConv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'valid', 'NHWC', 3), 'cpu');
});

describe('on wasm, negative paddings of every dtype and rank crop', () => {
  type Pairs = [number, number][];
  // The crop, from stock kernels alone: pad by the positive parts, then slice off the negative ones.
  const crop = (x: tf.Tensor, paddings: Pairs, value: number) => {
    const padded = tf.pad(x, paddings.map(([a, b]): [number, number] => [Math.max(a, 0), Math.max(b, 0)]), value);
    return tf.slice(padded, paddings.map(([a]) => Math.max(-a, 0)), x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]));
  };

  it("the issue's int32 rank-5 pad, which kills stock wasm, and later ops still work", async () => {
    const y = () => tf.range(0, 48, 1, 'int32').reshape([1, 2, 1, 6, 4]);
    const paddings: Pairs = [[2, 1], [-1, 0], [0, 1], [-5, 0], [2, 1]];
    const got = await outcome(() => tf.pad(y(), paddings), 'wasm', 'library');
    expect(got).toEqual(await outcome(() => crop(y(), paddings, 0), 'cpu', 'stock'));
    // By hand: the second of the two rows, the last of the six columns: [44..47] between 2 and 1 zeros.
    expect((got as { values: number[][] }).values[0]!.filter((v) => v !== 0)).toEqual([44, 45, 46, 47]);
    const empty = await outcome(() => tf.pad(y(), [[2, 1], [-2, 0], [0, 1], [-5, 0], [2, 1]]), 'wasm', 'library');
    expect(empty).toEqual({ values: [[]] });
    expect(await outcome(() => tf.sum(tf.ones([1000, 1000])), 'wasm', 'library')).toEqual({ values: [[1e6]] });
  });

  it('float32, int32 and bool of rank 1–6, against the stock crop on cpu, bit for bit', async () => {
    const random = seededRandom(17);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    for (let i = 0; i < 120; i++) {
      const dtype = (['float32', 'int32', 'bool'] as const)[int(0, 2)]!;
      const shape = Array.from({ length: 1 + (i % 6) }, () => int(0, 4));
      let paddings: [number, number][];
      do paddings = shape.map((): [number, number] => [int(-3, 2), int(-3, 2)]);
      while (shape.some((d, j) => d + paddings[j]![0] + paddings[j]![1] < 0) || paddings.every(([a, b]) => a >= 0 && b >= 0));
      const value = [0, -0, 1.5, nan, Infinity, -3][int(0, 5)]!;
      const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, j) => (dtype === 'bool' ? j % 2 : dtype === 'int32' ? j - 7 : j / 4 - 3));
      const x = () => tf.tensor(values, shape, dtype);
      const got = await outcome(() => tf.pad(x(), paddings, value), 'wasm', 'library');
      expect(got, JSON.stringify({ dtype, shape, paddings, value: String(value) })).toEqual(await outcome(() => crop(x(), paddings, value), 'cpu', 'stock'));
    }
  });

  it('fills NaN at rank 5 after a pad with 0 (stock wasm’s pad operator cache takes NaN for 0)', async () => {
    const x = () => tf.ones([1, 2, 1, 2, 1]);
    const run = () => [tf.pad(x(), [[0, 0], [1, 0], [0, 0], [0, 0], [0, 1]], 0), tf.pad(x(), [[0, 0], [1, -1], [0, 0], [0, 0], [0, 1]], nan)];
    const got = await outcome(run, 'wasm', 'library');
    expect(got).toEqual({ values: [[0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0], [nan, nan, nan, nan, 1, nan, 1, nan]] });
  });

  it('keeps tensors and the backend’s buffers flat', async () => {
    registerKernels();
    await tf.setBackend('wasm');
    const x = tf.range(0, 120, 1, 'int32').reshape([2, 3, 4, 5, 1]);
    const paddings: Pairs = [[0, 1], [-1, 2], [1, -2], [-3, 0], [0, 0]];
    const step = () => tf.tidy(() => [tf.pad(x, paddings, 7), tf.pad(tf.cast(x, 'float32').reshape([2, 3, 4, 5, 1, 1]), [...paddings, [1, -1]], 7)].map((t) => t.dataSync()));
    step();
    const before = { tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() };
    for (let i = 0; i < 50; i++) step();
    expect({ tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() }).toEqual(before);
    x.dispose();
  });

  it('rejects string and complex64 tensors and malformed paddings with one line; cpu keeps stock', async () => {
    const strings = () => tf.engine().runKernel('PadV2', { x: tf.tensor(['a', 'b']) }, { paddings: [[1, 0]], constantValue: 0 } as never) as tf.Tensor;
    expect(await outcome(strings, 'wasm', 'library')).toEqual({ error: 'PadV2: x is a string tensor; wasm pads float32, int32 and bool tensors' });
    expect(await outcome(strings, 'cpu', 'library')).toEqual(await outcome(strings, 'cpu', 'stock'));
    const short = () => tf.pad(tf.ones([2, 3], 'int32'), [[0, 1]] as never);
    expect(await outcome(short, 'wasm', 'library')).toEqual({ error: expect.stringMatching(/^PadV2: paddings \[\[0,1\]\] must be 2 pairs/) });
    expect(await outcome(short, 'cpu', 'library')).toEqual(await outcome(short, 'cpu', 'stock'));
    const complex = () => tf.pad(tf.complex([1, 2], [3, 4]), [[-1, 0]]);
    expect(await outcome(complex, 'cpu', 'library')).toEqual({ error: 'pad does not support complex64 tensors in the CPU backend.' });
  });
});

describe("on wasm, the strided 'same' depthwise convs stock gets wrong (all zeros)", () => {
  // TensorFlow's total pad (⌈in/s⌉ − 1)·s + k − in is negative along one axis of each.
  const geometries: { x: number[]; filter: number[]; strides: number | [number, number] }[] = [
    { x: [1, 3, 5, 5], filter: [2, 5, 5, 1], strides: 3 },
    { x: [3, 7, 6, 1], filter: [2, 1, 1, 1], strides: 2 },
    { x: [2, 8, 10, 3], filter: [3, 1, 3, 2], strides: [2, 4] },
  ];
  const make = (shape: number[], seed: number) => tf.randomUniform(shape, -2, 2, 'float32', seed);
  const close = (a: Outcome, b: Outcome) => {
    const [x, y] = [a, b].map((o) => ('values' in o ? o.values.flat() : []));
    expect(x!.length).toBeGreaterThan(0);
    expect(x!.length).toBe(y!.length);
    for (const [i, v] of x!.entries()) expect(Math.abs(v - y![i]!)).toBeLessThan(1e-4);
  };

  it.each(['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const)('give stock cpu’s numbers (%s)', async (activation) => {
    for (const g of geometries) {
      const channels = g.x[3]! * g.filter[3]!;
      const run = () => [
        tf.depthwiseConv2d(make(g.x, 1) as tf.Tensor4D, make(g.filter, 2) as tf.Tensor4D, g.strides, 'same'),
        tf.fused.depthwiseConv2d({
          x: make(g.x, 1) as tf.Tensor4D, filter: make(g.filter, 2) as tf.Tensor4D, strides: g.strides, pad: 'same',
          bias: make([channels], 3), activation, preluActivationWeights: activation === 'prelu' ? make([channels], 4) : undefined, leakyreluAlpha: 0.2,
        }),
      ];
      const cpu = await outcome(run, 'cpu', 'stock');
      close(await outcome(run, 'wasm', 'library'), cpu);
      // What the test guards against: stock wasm's zeros.
      const stock = await outcome(run, 'wasm', 'stock');
      expect('values' in stock && stock.values[0]!.every((v) => v === 0)).toBe(true);
    }
  });
});
