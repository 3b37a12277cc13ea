import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../backend/useBackend.js';
import { tf } from '../tf.js';
import { trainMnist } from './trainMnist.js';

let tmp: string;
beforeAll(async () => {
  await useBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'train-mnist-'));
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

describe('trainMnist (MobileNetV2 α = 0.25 on wasm)', () => {
  it('trains, resumes for one more epoch, and leaks no tensors across steps and evaluation', async () => {
    const out = path.join(tmp, 'run');
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const options = {
      alpha: 0.25, limitTrain: 192, limitTest: 64, batchSize: 32, seed: 2, out, logEvery: 2,
      callbacks: { onBatchEnd: (m: { step: number; stepsPerEpoch: number }) => void (m.step < m.stepsPerEpoch && counts.push(tf.memory().numTensors)) },
    };
    const first = await trainMnist({ ...options, epochs: 1 });
    expect(first).toMatchObject({ epochs: 1, backend: 'wasm', out, seed: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(counts.slice(1)).size).toBe(1);

    const resumed = await trainMnist({ resume: out, epochs: 2, callbacks: options.callbacks });
    expect(resumed.epochs).toBe(2);
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(resumed.history[0]).toEqual(first.history[0]);
    expect(tf.memory().numTensors).toBe(before);
    const state = JSON.parse(await fs.readFile(path.join(out, 'last', 'state.json'), 'utf8'));
    expect(state).toMatchObject({ epoch: 2, epochs: 2, seed: 2, config: { alpha: 0.25, recipe: 'seed', limitTrain: 192 } });
  });
});
