/**
 * The fused Adam step against TF.js's own AdamOptimizer on the stock cpu backend: same values,
 * same slots, and getWeights/setWeights that round-trip between the two.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADAM } from '../src/backend/kernels/adam.js';
import { registerKernels, restoreStockKernels } from '../src/backend/registerKernels.js';
import { tf } from '../src/tf.js';

const SHAPES = [[3, 3, 5, 7], [13], [1], [2, 3]];
const STEPS = 6;
// Large enough that where ε goes (inside or outside the square root, before or after bias
// correction) changes the result well beyond the tolerance.
const EPSILON = 0.1;

function values(seed: number, n: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 31 - 1;
  });
}
const size = (shape: number[]) => shape.reduce((p, q) => p * q, 1);
// applyGradients is typed for variables but takes any tensors, as tf.variableGrads returns them.
const byName = (entries: [string, tf.Tensor][]) => Object.fromEntries(entries) as unknown as Record<string, tf.Variable>;

interface Run {
  weights: Float32Array[];
  slots: { name: string; values: Float32Array }[];
}

/** STEPS Adam steps on fresh variables; the learning rate changes mid-run as schedules do. */
async function run(tag: string, resumeAt?: number): Promise<Run> {
  const vars = SHAPES.map((shape, i) => tf.variable(tf.tensor(values(i + 1, size(shape)), shape), true, `${tag}_w${i}`));
  let optimizer = tf.train.adam(1e-2, 0.9, 0.999, EPSILON);
  for (let step = 0; step < STEPS; step++) {
    if (step === resumeAt) {
      const saved = await optimizer.getWeights();
      const copies = saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
      optimizer.dispose();
      optimizer = tf.train.adam(1e-2, 0.9, 0.999, EPSILON);
      await optimizer.setWeights(copies);
    }
    (optimizer as unknown as { learningRate: number }).learningRate = step < 3 ? 1e-2 : 3e-3;
    const grads = SHAPES.map((shape, i) => tf.tensor(values(100 * step + i, size(shape)), shape).mul(step + 1));
    // Alternate the two forms applyGradients accepts: a name map and a list.
    if (step % 2 === 0) optimizer.applyGradients(byName(vars.map((v, i) => [v.name, grads[i]!])));
    else optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
    tf.dispose(grads);
  }
  const slots = await Promise.all((await optimizer.getWeights()).map(async (w) => ({
    name: w.name.replace(`${tag}_`, ''), values: (await w.tensor.data()) as Float32Array,
  })));
  const weights = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  optimizer.dispose();
  tf.dispose(vars);
  return { weights, slots };
}

function relativeError(got: Float32Array, ref: Float32Array): number {
  let diff = 0;
  let scale = 0;
  ref.forEach((r, i) => {
    diff = Math.max(diff, Math.abs(got[i]! - r));
    scale = Math.max(scale, Math.abs(r));
  });
  return scale === 0 ? diff : diff / scale;
}

let reference: Run;
beforeAll(async () => {
  await tf.ready();
  restoreStockKernels();
  await tf.setBackend('cpu');
  reference = await run('stock');
  registerKernels();
});

describe.each(['wasm', 'cpu'])('fused Adam on %s against TF.js AdamOptimizer on stock cpu', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('runs one kernel per variable', async () => {
    const v = tf.variable(tf.ones([5]));
    const optimizer = tf.train.adam(1e-3);
    const g = tf.ones([5]);
    const info = await tf.profile(() => optimizer.applyGradients(byName([[v.name, g]])));
    const kernels = info.kernels.map((k) => k.name);
    expect(kernels.filter((k) => k === ADAM)).toHaveLength(1);
    expect(kernels).not.toContain('Sqrt');
    tf.dispose([v, g]);
    optimizer.dispose();
  });

  it("reaches plain model.fit with compile({ optimizer: 'adam' })", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] }), tf.layers.dense({ units: 2 })] });
    model.compile({ optimizer: 'adam', loss: 'meanSquaredError', metrics: ['accuracy'] });
    const [x, y] = [tf.ones([8, 4]), tf.zeros([8, 2])];
    const info = await tf.profile(async () => {
      await model.fit(x, y, { batchSize: 8, epochs: 1, verbose: 0 });
    });
    const kernels = info.kernels.map((k) => k.name);
    expect(kernels.filter((k) => k === ADAM)).toHaveLength(4); // two kernels, two biases
    expect(kernels).not.toContain('Sqrt');
    tf.dispose([x, y]);
    model.dispose();
  });

  it.each([['uninterrupted', undefined], ['saved and restored after 3 steps', 3]] as const)('%s: weights and slots', async (_label, resumeAt) => {
    const got = await run(`${backend}${resumeAt ?? ''}`, resumeAt);
    expect(got.slots.map((s) => s.name)).toEqual(reference.slots.map((s) => s.name));
    got.weights.forEach((w, i) => expect(relativeError(w, reference.weights[i]!), `weight ${i}`).toBeLessThanOrEqual(1e-5));
    got.slots.forEach((s, i) => expect(relativeError(s.values, reference.slots[i]!.values), s.name).toBeLessThanOrEqual(1e-5));
  });

  it('keeps tensors flat', () => {
    const v = tf.variable(tf.ones([4, 3]));
    const optimizer = tf.train.adam(1e-3);
    const g = tf.ones([4, 3]);
    optimizer.applyGradients(byName([[v.name, g]]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) optimizer.applyGradients(byName([[v.name, g]]));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([v, g]);
    optimizer.dispose();
  });
});
