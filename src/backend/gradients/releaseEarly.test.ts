import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../tf.js';
import { batchNormWithBatchStatistics, relu6KeepingOutput } from '../../training/trainingOps.js';
import { registerKernels, restoreStockKernels } from '../registerKernels.js';
import { releaseEarly } from './releaseEarly.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => registerKernels());

/** Live tensors when the gradient of the innermost op runs: the end of the backward pass of `f`. */
function liveAtEnd(f: (x: tf.Tensor) => tf.Tensor): number {
  let live = -1;
  const probe = tf.customGrad((...args) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy) => {
      live = tf.memory().numTensors;
      return [tf.clone(dy as tf.Tensor)];
    },
  }));
  const x = tf.randomNormal([64, 8]);
  const g = tf.grad((v: tf.Tensor) => tf.sum(f(probe(v))))(x);
  tf.dispose([x, g]);
  return live;
}

const chain = (x: tf.Tensor) => {
  let y = x;
  for (let i = 0; i < 20; i++) y = tf.relu(tf.sin(y));
  return y;
};

describe('early release in the backward pass', () => {
  it('frees saved tensors and dys as the pass goes (TF.js keeps them all to its end)', () => {
    const ours = liveAtEnd(chain);
    restoreStockKernels();
    const stock = liveAtEnd(chain);
    // 40 nodes: TF.js still holds every saved clone and every intermediate dy here.
    expect(stock - ours).toBeGreaterThanOrEqual(60);
  });

  it("frees the dys and saved tensors of this library's custom gradients (ReLU6, BatchNorm)", () => {
    const units = (n: number) => (x: tf.Tensor) => {
      let y = x;
      for (let i = 0; i < n; i++) {
        const { y: out, mean, variance } = batchNormWithBatchStatistics(y, undefined, undefined, 1e-3);
        tf.dispose([mean, variance]);
        y = relu6KeepingOutput(out);
      }
      return y;
    };
    // TF.js would hold each unit's two dys and four saved clones to the end of the pass.
    expect(liveAtEnd(units(9)) - liveAtEnd(units(3))).toBeLessThanOrEqual(0);
  });

  it('leaves a dy that a custom gradient hands to several inputs to all of them (stock TF.js computes it)', () => {
    const x1 = tf.tensor1d([1, -2, 3]);
    const x2 = tf.tensor1d([-1, 2, 3]);
    // The same tensor, dy itself, as the gradient of both inputs.
    const add = tf.customGrad((...args) => ({ value: tf.add(args[0] as tf.Tensor, args[1] as tf.Tensor), gradFunc: (dy) => [dy as tf.Tensor, dy as tf.Tensor] }));
    const check = (inner: (t: tf.Tensor) => tf.Tensor, expected: number[][]) => {
      const [g1, g2] = tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(add(inner(u), inner(v))))([x1, x2]);
      expect([Array.from(g1!.dataSync()), Array.from(g2!.dataSync())]).toEqual(expected);
      tf.dispose([g1!, g2!]);
    };
    check((t) => tf.relu(t), [[1, 0, 1], [0, 1, 1]]);
    check((t) => relu6KeepingOutput(tf.mul(t, 1.5)), [[1.5, 0, 1.5], [0, 1.5, 1.5]]);
    tf.dispose([x1, x2]);
  });

  it('leaves second-order gradients intact', () => {
    const x = tf.tensor1d([1, 2, -3]);
    // d²/dx² Σ x³ = 6x.
    const second = tf.grad((v: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.sum(tf.mul(tf.mul(u, u), u)))(v).sum())(x);
    expect(Array.from(second.dataSync())).toEqual([6, 12, -18]);
    tf.dispose([x, second]);
  });

  it('does not dispose a dy passed in by the caller, nor keep tensors after the pass', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const dy = tf.tensor1d([1, 1, 1]);
    const before = tf.memory().numTensors;
    const g = tf.grad((v: tf.Tensor) => tf.relu(tf.relu6(v)))(x, dy);
    expect(dy.isDisposed).toBe(false);
    expect(Array.from(g.dataSync())).toEqual([1, 0, 1]);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, dy]);
  });
});

describe('releaseEarly, whatever order the closures run in', () => {
  /** A gradient of two inputs whose closures read dy and both saved tensors. */
  const config: GradConfig = {
    kernelName: 'Test',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Tensor[];
      return { a: () => tf.mul(dy as Tensor, b!), b: () => tf.mul(dy as Tensor, a!) };
    },
  };
  const wrapped = releaseEarly(config);

  it('saves every output too, and gives the stock gradient only what it asked for', () => {
    expect(wrapped.outputsToSave?.every(Boolean)).toBe(true);
    let seen: Tensor[] = [];
    const spy = releaseEarly({ ...config, gradFunc: (dy, saved, attrs) => ((seen = saved), config.gradFunc(dy, saved, attrs)) });
    const [a, b, y, dy] = [tf.scalar(2), tf.scalar(3), tf.scalar(6), tf.scalar(1)];
    spy.gradFunc(dy, [a, b, y], {});
    expect(seen).toEqual([a, b]);
    tf.dispose([a, b, y, dy]);
  });

  it.each([['a', 'b'], ['b', 'a']])('disposes the saved tensors only after the last closure (%s, then %s), interleaved with another node', (first, second) => {
    const node = () => {
      const [a, b, y, dy] = [tf.scalar(2), tf.scalar(3), tf.scalar(6), tf.scalar(1)];
      return { saved: [a, b, y], dy, grads: wrapped.gradFunc(dy, [a, b, y], {}) as Record<string, () => Tensor> };
    };
    const one = node();
    const two = node();
    // The output's clone goes at once (only its dataId is needed); the inputs' after the last closure.
    expect([one.saved, two.saved].map((s) => s.map((t) => t.isDisposed))).toEqual([[false, false, true], [false, false, true]]);
    const results = [one.grads[first]!(), two.grads[first]!()];
    expect(one.saved.slice(0, 2).some((t) => t.isDisposed) || two.saved.slice(0, 2).some((t) => t.isDisposed)).toBe(false);
    results.push(one.grads[second]!());
    expect(one.saved.every((t) => t.isDisposed)).toBe(true);
    expect(two.saved.slice(0, 2).some((t) => t.isDisposed)).toBe(false);
    results.push(two.grads[second]!());
    expect(two.saved.every((t) => t.isDisposed)).toBe(true);
    // Nothing recorded these dys as handed over for the node's output: they are not disposed.
    expect(one.dy.isDisposed || two.dy.isDisposed).toBe(false);
    expect(results.map((r) => r.dataSync()[0])).toEqual(first === 'a' ? [3, 3, 2, 2] : [2, 2, 3, 3]);
    tf.dispose([...results, one.dy, two.dy]);
  });

  it('disposes a dy that the gradient of its consumer recorded for its output, once used', () => {
    const [a, b, y] = [tf.scalar(2), tf.scalar(3), tf.scalar(6)];
    // The consumer of y: a node whose input is y (its saved clone shares y's data).
    const [yClone, w, z] = [tf.clone(y), tf.scalar(5), tf.scalar(30)];
    const upstream = tf.scalar(1);
    const consumer = wrapped.gradFunc(upstream, [yClone, w, z], {}) as Record<string, () => Tensor>;
    const dy = consumer.a!(); // the gradient of y
    consumer.b!();
    const node = wrapped.gradFunc(dy, [a, b, tf.clone(y)], {}) as Record<string, () => Tensor>;
    const [da, db] = [node.a!(), node.b!()];
    expect(dy.isDisposed).toBe(true);
    expect([da.dataSync()[0], db.dataSync()[0]]).toEqual([15, 10]);
    tf.dispose([a, b, y, w, z, upstream, da, db]);
  });
});
