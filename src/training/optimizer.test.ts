import { beforeAll, describe, expect, it } from 'vitest';
import { FusedAdamOptimizer } from '../backend/optimizers/fusedAdam.js';
import { tf } from '../tf.js';
import { createOptimizer, setLearningRate } from './optimizer.js';

/** One step on w = 0 with gradient 1, at rate `lr`: w afterwards. */
function stepAt(name: 'adam' | 'sgd', lr: number): number {
  const optimizer = createOptimizer(name);
  const w = tf.tidy(() => tf.variable(tf.zeros([1])));
  const g = tf.ones([1]);
  setLearningRate(optimizer, lr);
  optimizer.applyGradients([{ name: w.name, tensor: g }]);
  const after = w.dataSync()[0]!;
  optimizer.dispose();
  tf.dispose([w, g]);
  return after;
}

describe('createOptimizer and setLearningRate', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it("make train()'s Adam the one-kernel optimizer, and SGD TF.js's momentum", () => {
    const adam = createOptimizer('adam');
    const sgd = createOptimizer('sgd');
    expect(adam).toBeInstanceOf(FusedAdamOptimizer);
    expect(adam.getConfig()).toEqual({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    expect(sgd).not.toBeInstanceOf(FusedAdamOptimizer);
    expect(sgd.getClassName()).toBe('Momentum');
    adam.dispose();
    sgd.dispose();
  });

  it('set the rate that the next step uses, for both optimizers', () => {
    // Adam's first step moves by lr·m̂/(√v̂ + ε) = lr·1/(1 + 1e-8); momentum's by lr·g.
    expect(stepAt('adam', 0.5)).toBeCloseTo(-0.5, 4); // float32 bias corrections
    expect(stepAt('sgd', 0.5)).toBeCloseTo(-0.5, 6);
    expect(stepAt('sgd', 0.25)).toBeCloseTo(-0.25, 6);
  });
});
