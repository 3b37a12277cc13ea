/**
 * The differences from stock TF.js that issue 8 found in this library's kernels, each pinned
 * down against the stock kernels of the same backend (restored in the same process): what a
 * user of that backend gets without this library.
 */
import { describe, expect, it } from 'vitest';
import { registerKernels, restoreStockKernels } from '../src/backend/registerKernels.js';
import { tf } from '../src/tf.js';

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
