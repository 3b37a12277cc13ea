import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tensorDataset } from '../data/tensorDataset.js';
import { loadModel } from '../io/fileSystem.js';
import type { Logger } from '../logger.js';
import { mobileNetV2Mnist } from '../models/mnist.js';
import { tf } from '../tf.js';
import { deriveSeed } from '../training/random.js';
import { recalibrateBatchNorm } from '../training/recalibrateBatchNorm.js';
import { batchNormWarning, fineTune, SHORT_RUN_STEPS } from './finetune.js';

// Dropout 0: TF.js's dropout takes no seed, and these tests compare whole runs.
const tiny = (seed: number) => mobileNetV2Mnist({ alpha: 0.25, inputShape: [16, 16, 1], numClasses: 3, seed, dropout: 0 });

/** 18 images of 3 classes whose brightness tells them apart, plus noise. */
function data(n: number, seed: number) {
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const images = tf.tidy(() => tf.add(tf.randomUniform([n, 16, 16, 1], 0, 0.4, 'float32', seed), tf.tensor(labels.map((l) => 0.3 * l)).reshape([n, 1, 1, 1])) as tf.Tensor4D);
  return tensorDataset(images, labels, { classNames: ['a', 'b', 'c'], mean: [0.5], std: [0.5] });
}

const movingStats = (model: tf.LayersModel) =>
  model.layers.filter((l) => l.getClassName() === 'BatchNormalization').flatMap((l) => l.getWeights().slice(-2).map((w) => Array.from(w.dataSync())));

function recordingLogger(): Logger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, info: (m) => infos.push(m), warn: (m) => warnings.push(m) };
}

describe('fineTune: BatchNorm recalibration', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('by default in a short run, the saved best checkpoint holds the statistics of its own weights', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'recalibrate-'));
    const [train, val] = [data(18, 1), data(9, 2)];
    const model = tiny(1);
    const logger = recordingLogger();
    const before = tf.memory().numTensors;
    const result = await fineTune(model, train, { epochs: 3, batchSize: 6, seed: 4, validationData: val, out, logger });
    expect(tf.memory().numTensors).toBe(before);
    expect(logger.infos.join('\n')).toContain(`recalibrating BatchNorm after each epoch (a short run: 9 < ${SHORT_RUN_STEPS} steps)`);
    expect(result.history.every((h) => h.recalibrationSeconds! > 0)).toBe(true);

    // The best epoch's weights, recalibrated again over the same pass, give back its saved statistics.
    const saved = await loadModel(out);
    expect(saved.getUserDefinedMetadata()).toMatchObject({ batchNormRecalibrated: true, epoch: result.best!.epoch });
    const savedStats = movingStats(saved);
    await recalibrateBatchNorm(saved, train, { batchSize: 6, seed: deriveSeed(4, result.best!.epoch, 3) });
    movingStats(saved).forEach((values, i) => values.forEach((v, j) => expect(v).toBeCloseTo(savedStats[i]![j]!, 5)));
    // And they are not the moving averages training left behind.
    const plain = tiny(1);
    const out2 = await mkdtemp(path.join(tmpdir(), 'recalibrate-'));
    await fineTune(plain, train, { epochs: 3, batchSize: 6, seed: 4, validationData: val, out: out2, recalibrateBatchNorm: false });
    const ema = await loadModel(out2);
    expect(ema.getUserDefinedMetadata()).not.toHaveProperty('batchNormRecalibrated');
    expect(movingStats(ema)).not.toEqual(movingStats(saved));
    [model, saved, plain, ema].forEach((m) => m.dispose());
  });

  it(`'auto' leaves runs of ${SHORT_RUN_STEPS} steps or more, and frozen features, to the moving averages`, async () => {
    const model = tiny(5);
    const logger = recordingLogger();
    const result = await fineTune(model, data(SHORT_RUN_STEPS / 2, 3), { epochs: 2, batchSize: 1, seed: 1, logger });
    expect(result.history.map((h) => h.recalibrationSeconds)).toEqual([undefined, undefined]);
    expect(logger.infos.join('\n')).not.toContain('recalibrating');
    const frozen = await fineTune(model, data(6, 3), { epochs: 1, batchSize: 3, freezeFeatures: true, recalibrateBatchNorm: true });
    expect(frozen.history[0]!.recalibrationSeconds).toBeUndefined();
    model.dispose();
  });

  it('rejects a recalibrateBatchNorm that is not true, false or auto', async () => {
    const model = tiny(2);
    await expect(fineTune(model, data(6, 1), { recalibrateBatchNorm: 'yes' as 'auto' })).rejects.toThrow(
      "recalibrateBatchNorm must be one of true, false, 'auto'; received `recalibrateBatchNorm=\"yes\"`",
    );
    model.dispose();
  });

  it('warns in one line when evaluation stays far below training accuracy, and says what helps', () => {
    expect(batchNormWarning(0.9, 0.8, 20, false, 54)).toBeNull();
    expect(batchNormWarning(1, undefined, 20, false, 54)).toBeNull();
    const stale = batchNormWarning(1, 1 / 3, 20, false, 54)!;
    expect(stale).not.toContain('\n');
    expect(stale).toMatch(/^validation accuracy 33\.3% \(evaluation mode\) is far below training accuracy 100\.0% \(training mode\): after 20 optimizer steps BatchNorm's moving statistics/);
    for (const fix of ['more steps', '--weights imagenet', '--freeze-features', '--recalibrate-bn']) expect(stale).toContain(fix);
    // Once recalibrated, the statistics are not the reason, and recalibration is not advice.
    const recalibrated = batchNormWarning(1, 0.5, 20, true, 54)!;
    expect(recalibrated).toContain('fit 54 training images without generalizing');
    expect(recalibrated).not.toContain('--recalibrate-bn');
  });

  it('logs the warning from fineTune, once', async () => {
    // Validation labels shifted against the training rule: evaluation cannot follow training.
    const train = data(12, 1);
    const shifted = await data(6, 2).batch([0, 1, 2, 3, 4, 5]);
    const labels = Array.from((await shifted.y.data()) as Int32Array, (l) => (l + 1) % 3);
    shifted.y.dispose();
    const val = tensorDataset(shifted.x, labels, { classNames: ['a', 'b', 'c'], mean: [0.5], std: [0.5] });
    const logger = recordingLogger();
    const model = tiny(3);
    const result = await fineTune(model, train, { epochs: 12, batchSize: 4, seed: 1, learningRate: 0.01, validationData: val, logger });
    const expected = batchNormWarning(result.history.at(-1)!.trainAccuracy, result.valAccuracy, 36, true, 12);
    expect(expected).not.toBeNull();
    expect(logger.warnings).toEqual([expected]);
    model.dispose();
  });
});
