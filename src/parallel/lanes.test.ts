import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import { tf } from '../tf.js';
import { InferencePool } from './inference.js';
import { type BatchSource, runLanes } from './lanes.js';
import { WorkerError } from './thread.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

/** A job over `count` batches of `rows` rows of [8] values; records which batches came out, in order. */
function job(count: number, rows = 3) {
  const seen: number[] = [];
  const sums: number[] = [];
  let using = 0;
  const spec: BatchSource<tf.Tensor> = {
    count,
    load: async (i) => tf.fill([rows, 8], i),
    input: (x) => x,
    use: async (_x, output, i) => {
      // One use at a time, even when it waits.
      expect(using++).toBe(0);
      seen.push(i);
      const sum = output.sum();
      sums.push((await sum.data())[0]!);
      await new Promise((r) => setTimeout(r, 0));
      sum.dispose();
      using--;
    },
    release: (x) => x.dispose(),
  };
  return { spec, seen, sums };
}

/** Stands in for a worker pool: `runOn` doubles x after `delayMs`, or fails with `fail`. */
function fakePool(workers: number, options: { delayMs?: number; fail?: boolean; readyAfterMs?: number } = {}) {
  let stopped = false;
  let calls = 0;
  const pool = {
    ranks: workers + 1,
    runOn: async (_w: number, x: tf.Tensor) => {
      const values = x.dataSync().slice();
      if (options.fail) throw new WorkerError('worker 1 of 1 failed: Error: boom');
      await new Promise((r) => setTimeout(r, options.delayMs ?? 0));
      calls++;
      return tf.tensor(values.map((v) => v * 2), x.shape);
    },
  };
  const launch = {
    ready: new Promise<InferencePool>((resolve) => setTimeout(() => resolve(pool as unknown as InferencePool), options.readyAfterMs ?? 0)),
    stop: async () => void (stopped = true),
  };
  return { launch, stopped: () => stopped, calls: () => calls };
}

const double = (x: tf.Tensor) => tf.mul(x, 2);

describe('runLanes', () => {
  it('hands every output over in index order, whichever rank ran it, and leaks nothing', async () => {
    const fake = fakePool(2, { delayMs: 2 });
    const { spec, seen, sums } = job(40);
    const before = tf.memory().numTensors;
    await runLanes(spec, { runLocal: double, ranks: 3, startPool: () => fake.launch });
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(sums).toEqual(Array.from({ length: 40 }, (_, i) => i * 2 * 24));
    expect(fake.calls()).toBeGreaterThan(0);
    expect(fake.stopped()).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('does not wait for workers that are still starting when this thread has finished', async () => {
    const fake = fakePool(1, { readyAfterMs: 60_000 });
    const { spec, seen } = job(5);
    const before = tf.memory().numTensors;
    await runLanes(spec, { runLocal: double, ranks: 2, startPool: () => fake.launch });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(fake.calls()).toBe(0);
    expect(fake.stopped()).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('starts no workers when the first batch says they do not pay off, or for one rank', async () => {
    let started = 0;
    const startPool = () => {
      started++;
      return fakePool(1).launch;
    };
    await runLanes(job(6).spec, { runLocal: double, ranks: 2, worthStarting: () => false, startPool });
    await runLanes(job(6).spec, { runLocal: double, ranks: 1, startPool });
    expect(started).toBe(0);
  });

  it('fails with the worker\'s error, stops the pool and releases every batch', async () => {
    const fake = fakePool(1, { fail: true });
    const { spec, seen } = job(30);
    const before = tf.memory().numTensors;
    // This thread takes 3 ms a batch, so the worker gets one of the 30 while it runs.
    const slow = (x: tf.Tensor) => {
      const until = performance.now() + 3;
      while (performance.now() < until);
      return double(x);
    };
    await expect(runLanes(spec, { runLocal: slow, ranks: 2, startPool: () => fake.launch })).rejects.toThrow('worker 1 of 1 failed: Error: boom');
    expect(seen.length).toBeLessThan(30);
    expect(fake.stopped()).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives real worker replicas\' outputs for RGB MobileNetV2 at 96 px equal to model.predict', async () => {
    const model = mobileNetV2({ alpha: 0.35, inputShape: [96, 96, 3], numClasses: 5, seed: 2 });
    const images = tf.randomNormal([8, 4, 96, 96, 3], 0, 1, 'float32', 5);
    const outputs: tf.Tensor[] = [];
    let launch: ReturnType<typeof InferencePool.launch> | null = null;
    let remote = 0;
    const before = tf.memory().numTensors;
    await runLanes({
      count: 8,
      // From batch 2 on, loading waits for the worker, so that it surely runs some batches.
      load: async (i) => {
        if (i >= 2) await launch!.ready;
        return tf.tidy(() => tf.squeeze(tf.slice(images, i, 1), [0]));
      },
      input: (x) => x,
      use: (_x, output) => void outputs.push(output.clone()),
      release: (x) => x.dispose(),
    }, {
      runLocal: (x) => model.predict(x) as tf.Tensor,
      ranks: 2,
      startPool: (ranks) => {
        launch = InferencePool.launch(model, ranks);
        const counted = launch.ready.then((pool) => {
          const runOn = pool.runOn.bind(pool);
          pool.runOn = (w, x) => (remote++, runOn(w, x));
          return pool;
        });
        return { ready: counted, stop: launch.stop };
      },
    });
    expect(remote).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before + 8);
    const expected = model.predict(tf.reshape(images, [32, 96, 96, 3])) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(tf.concat(outputs, 0), expected))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([...outputs, expected, images]);
    model.dispose();
  }, 60_000);
});
