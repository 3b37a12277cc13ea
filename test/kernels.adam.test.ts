/**
 * FusedAdamOptimizer against TF.js's own AdamOptimizer on the stock cpu backend (TF.js alone,
 * this library's kernels unregistered): the same weights and slots to the bit, over many steps,
 * with getWeights/setWeights that round-trip between the two; and a plain tf.train.adam in the
 * same process that stays TF.js's own.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADAM } from '../src/backend/kernels/adam.js';
import { FusedAdamOptimizer, fusedAdam } from '../src/backend/optimizers/fusedAdam.js';
import { registerKernels, restoreStockKernels } from '../src/backend/registerKernels.js';
import { tf } from '../src/tf.js';

const SHAPES = [[3, 3, 5, 7], [13], [1], [2, 3], [1, 1, 96, 24]];
const STEPS = 120;
// Large enough that where ε goes (inside or outside the square root, before or after bias
// correction) changes the result well beyond rounding.
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

type Make = () => tf.AdamOptimizer;
const stockAdam: Make = () => tf.train.adam(1e-2, 0.9, 0.999, EPSILON);
const ours: Make = () => fusedAdam(1e-2, 0.9, 0.999, EPSILON);

/**
 * STEPS Adam steps on fresh variables; the rate changes as schedules change it. With `resume`,
 * the optimizer's weights are saved after that many steps and loaded into one that `after` makes.
 */
async function run(tag: string, make: Make, resume?: { at: number; after: Make }): Promise<Run> {
  const vars = SHAPES.map((shape, i) => tf.variable(tf.tensor(values(i + 1, size(shape)), shape), true, `${tag}_w${i}`));
  let optimizer = make();
  for (let step = 0; step < STEPS; step++) {
    if (step === resume?.at) {
      const saved = await optimizer.getWeights();
      const copies = saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
      tf.dispose(saved.filter((w) => w.name === 'iter').map((w) => w.tensor));
      optimizer.dispose();
      optimizer = resume.after();
      await optimizer.setWeights(copies);
      tf.dispose(copies.map((c) => c.tensor));
    }
    const lr = step < STEPS / 2 ? 1e-2 : 3e-3;
    if (optimizer instanceof FusedAdamOptimizer) optimizer.setLearningRate(lr);
    else (optimizer as unknown as { learningRate: number }).learningRate = lr; // stock Adam has no setter
    const grads = SHAPES.map((shape, i) => tf.tidy(() => tf.tensor(values(100 * step + i, size(shape)), shape).mul((step % 7) + 1)));
    // Alternate the two forms applyGradients accepts: a name map and a list.
    if (step % 2 === 0) optimizer.applyGradients(byName(vars.map((v, i) => [v.name, grads[i]!])));
    else optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
    tf.dispose(grads);
  }
  const saved = await optimizer.getWeights();
  const slots = await Promise.all(saved.map(async (w) => ({ name: w.name.replace(`${tag}_`, ''), values: (await w.tensor.data()) as Float32Array })));
  tf.dispose(saved.filter((w) => w.name === 'iter').map((w) => w.tensor));
  const weights = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  optimizer.dispose();
  tf.dispose(vars);
  return { weights, slots };
}

function expectSameRun(got: Run, ref: Run): void {
  expect(got.slots.map((s) => s.name)).toEqual(ref.slots.map((s) => s.name));
  got.weights.forEach((w, i) => expect(Array.from(w), `weight ${i}`).toEqual(Array.from(ref.weights[i]!)));
  got.slots.forEach((s, i) => expect(Array.from(s.values), s.name).toEqual(Array.from(ref.slots[i]!.values)));
}

const kernelsOf = async (f: () => void) => (await tf.profile(f)).kernels.map((k) => k.name);

let reference: Run;
/** TF.js saving and resuming after 37 steps: setWeights recomputes β^t with Pow, so not quite `reference`. */
let referenceResumed: Run;
let oursWithoutKernels: Run;
beforeAll(async () => {
  await tf.ready();
  restoreStockKernels();
  await tf.setBackend('cpu');
  reference = await run('stock', stockAdam);
  referenceResumed = await run('stockr', stockAdam, { at: 37, after: stockAdam });
  // Without this library's kernels registered, FusedAdamOptimizer runs TF.js's ops.
  oursWithoutKernels = await run('fallback', ours);
  registerKernels();
});

describe('FusedAdamOptimizer without the ADAM kernel', () => {
  it("runs TF.js's ops, with TF.js's results", () => {
    expectSameRun(oursWithoutKernels, reference);
  });
});

describe.each(['wasm', 'cpu'])('FusedAdamOptimizer on %s against TF.js AdamOptimizer on stock cpu', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('runs one kernel per variable and nothing else (no read-back of the bias corrections)', async () => {
    const v = tf.variable(tf.ones([5]));
    const w = tf.variable(tf.ones([2, 2]));
    const optimizer = fusedAdam(1e-3);
    const [g, h] = [tf.ones([5]), tf.ones([2, 2])];
    optimizer.applyGradients(byName([[v.name, g], [w.name, h]])); // creates the slots
    expect(await kernelsOf(() => optimizer.applyGradients(byName([[v.name, g], [w.name, h]])))).toEqual([ADAM, ADAM]);
    tf.dispose([v, w, g, h]);
    optimizer.dispose();
  });

  it(`${STEPS} steps: the same weights and slots, to the bit`, async () => {
    expectSameRun(await run(`${backend}`, ours), reference);
  });

  it.each([
    ['saved by TF.js, resumed by FusedAdamOptimizer', stockAdam, ours],
    ['saved by FusedAdamOptimizer, resumed by TF.js', ours, stockAdam],
    ['saved and resumed by FusedAdamOptimizer', ours, ours],
  ] as const)("%s after 37 steps: TF.js's own resumed run, to the bit", async (label, before, after) => {
    expectSameRun(await run(`${backend}r${label.length}`, before, { at: 37, after }), referenceResumed);
  });

  it('keeps tensors flat across steps, and dispose frees everything it made', () => {
    const start = tf.memory().numTensors;
    const v = tf.tidy(() => tf.variable(tf.ones([4, 3])));
    const g = tf.ones([4, 3]);
    const optimizer = fusedAdam(1e-3);
    optimizer.applyGradients(byName([[v.name, g]]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) optimizer.applyGradients([{ name: v.name, tensor: g }]);
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    tf.dispose([v, g]);
    expect(tf.memory().numTensors).toBe(start);
  });

  it("reaches model.fit when compiled with it; compile({ optimizer: 'adam' }) stays TF.js's", async () => {
    const make = () => tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] }), tf.layers.dense({ units: 2 })] });
    const [x, y] = [tf.ones([8, 4]), tf.zeros([8, 2])];
    const fitKernels = (model: tf.LayersModel) => kernelsOf(async () => {
      await model.fit(x, y, { batchSize: 8, epochs: 1, verbose: 0 });
    });
    const fused = make();
    fused.compile({ optimizer: fusedAdam(), loss: 'meanSquaredError' });
    const fusedKernels = await fitKernels(fused);
    expect(fusedKernels.filter((k) => k === ADAM)).toHaveLength(4); // two kernels, two biases
    expect(fusedKernels).not.toContain('Sqrt');
    const stock = make();
    stock.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    const stockKernels = await fitKernels(stock);
    expect(stockKernels).not.toContain(ADAM);
    expect(stockKernels.filter((k) => k === 'Sqrt')).toHaveLength(4);
    tf.dispose([x, y]);
    fused.dispose();
    stock.dispose();
  });
});

describe('a plain tf.train.adam beside FusedAdamOptimizer', () => {
  it("is TF.js's own AdamOptimizer, stepping with TF.js's ops", async () => {
    await tf.setBackend('wasm');
    const fused = fusedAdam(1e-3);
    const plain = tf.train.adam(1e-3);
    expect(plain).not.toBeInstanceOf(FusedAdamOptimizer);
    expect(Object.hasOwn(tf.AdamOptimizer.prototype, 'applyGradients')).toBe(true);
    expect(tf.AdamOptimizer.prototype.applyGradients).not.toBe(FusedAdamOptimizer.prototype.applyGradients);
    const v = tf.variable(tf.ones([5]));
    const g = tf.ones([5]);
    fused.applyGradients(byName([[v.name, g]]));
    const kernels = await kernelsOf(() => plain.applyGradients(byName([[v.name, g]])));
    expect(kernels).not.toContain(ADAM);
    expect(kernels).toContain('Sqrt');
    tf.dispose([v, g]);
    fused.dispose();
    plain.dispose();
  });
});

describe('the bias corrections, computed in JavaScript', () => {
  it.each(['cpu', 'wasm'])("equal TF.js's float32 accBeta products on %s for 3000 steps", async (backend) => {
    await tf.setBackend(backend);
    // TF.js: accBeta = scalar(β).variable(); each step uses sub(1, accBeta), then accBeta = mul(accBeta, β).
    for (const beta of [0.9, 0.999, 0.95, 0.5]) {
      let power = Math.fround(beta);
      const acc = tf.variable(tf.scalar(beta));
      for (let t = 0; t < 3000; t++) {
        const correction = tf.tidy(() => tf.sub(1, acc).dataSync()[0]!);
        if (correction !== Math.fround(1 - power)) throw new Error(`β=${beta}, step ${t + 1}: TF.js ${correction}, ours ${Math.fround(1 - power)}`);
        tf.tidy(() => acc.assign(tf.mul(acc, beta)));
        power = Math.fround(power * Math.fround(beta));
      }
      acc.dispose();
    }
  });
});

describe('FusedAdamOptimizer serialization', () => {
  it('has its own class name and config, and fromConfig makes it again', () => {
    const optimizer = fusedAdam(2e-3, 0.8, 0.99, 1e-6);
    expect(optimizer.getClassName()).toBe('MobileNetV2FusedAdam');
    expect(optimizer.getConfig()).toEqual({ learningRate: 2e-3, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 });
    const again = FusedAdamOptimizer.fromConfig(FusedAdamOptimizer, optimizer.getConfig());
    expect(again).toBeInstanceOf(FusedAdamOptimizer);
    expect(again.getConfig()).toEqual(optimizer.getConfig());
    optimizer.dispose();
    (again as FusedAdamOptimizer).dispose();
  });

  it('round-trips through model.json with includeOptimizer', async () => {
    await tf.setBackend('cpu');
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    model.compile({ optimizer: fusedAdam(2e-3, 0.8, 0.99, 1e-6), loss: 'meanSquaredError' });
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }), { includeOptimizer: true });
    expect((saved!.trainingConfig as unknown as { optimizer_config: { class_name: string } }).optimizer_config.class_name).toBe('MobileNetV2FusedAdam');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    expect(loaded.optimizer).toBeInstanceOf(FusedAdamOptimizer);
    expect(loaded.optimizer.getConfig()).toEqual({ learningRate: 2e-3, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 });
    model.dispose();
    loaded.dispose();
  });

  it('rejects betas outside [0, 1)', () => {
    expect(() => fusedAdam(1e-3, 1)).toThrow('beta1 must be a number in [0, 1); received `beta1=1`');
    expect(() => fusedAdam(1e-3, 0.9, -0.1)).toThrow('beta2 must be a number in [0, 1); received `beta2=-0.1`');
  });
});
