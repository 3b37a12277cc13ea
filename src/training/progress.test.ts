import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatSeconds, progressReporter } from './progress.js';
import type { EpochMetrics, StepMetrics, TrainBeginInfo } from './types.js';

const begin: TrainBeginInfo = {
  epochs: 2, initialEpoch: 0, stepsPerEpoch: 10, batchSize: 64, trainExamples: 640, validationExamples: 100, seed: 1, backend: 'wasm',
  workers: 1, replicaBytes: 0,
};
const step: StepMetrics = {
  epoch: 1, step: 5, stepsPerEpoch: 10, globalStep: 5, loss: 0.5, accuracy: 0.9, learningRate: 1e-3, imagesPerSec: 123.4, etaSeconds: 75,
};
const epoch: EpochMetrics = {
  epoch: 1, trainLoss: 0.4, trainAccuracy: 0.91, valLoss: 0.1, valAccuracy: 0.975, trainSeconds: 5, evalSeconds: 1,
  trainImages: 640, trainImagesPerSec: 128, learningRate: 1e-3, best: true,
};

async function drive(mode: 'bar' | 'lines' | 'auto', isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  let written = '';
  stream.on('data', (d) => (written += d));
  const lines: string[] = [];
  const reporter = progressReporter({ mode, stream: stream as never, logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m) }, validationLabel: 'test' });
  reporter.onTrainBegin!(begin);
  await reporter.onEpochBegin!(1, begin);
  await reporter.onBatchEnd!(step);
  await reporter.onLog!(step);
  await reporter.onEpochEnd!(epoch);
  await reporter.onTrainEnd!();
  return { written, lines };
}

describe('progressReporter', () => {
  it('writes plain lines when the stream is not a terminal', async () => {
    const { written, lines } = await drive('auto', false);
    expect(written).toBe('');
    expect(lines[0]).toBe('training on wasm, 640 examples (10 steps of 64), test 100, 2 epochs, seed 1');
    expect(lines[1]).toBe('epoch 1/2 step 5/10: loss 0.5000 acc 90.00% lr 0.00100 | 123.4 img/s | ETA 1m15s');
    expect(lines[2]).toBe('epoch 1/2: train loss 0.4000 acc 91.00% | test loss 0.1000 acc 97.50% | 128.0 img/s, 5s train + 1s eval | best, saved');
  });

  it('draws a bar with loss, accuracy, img/s and ETA on a terminal', async () => {
    const { written, lines } = await drive('auto', true);
    expect(written).toMatch(/epoch 1\/2 .* 5\/10 \| loss 0\.5000 \| acc 90\.00% \| 123\.4 img\/s \| ETA/);
    expect(lines).toHaveLength(2); // the start line and the epoch summary; no step lines
  });

  it('formats durations', () => {
    expect([5, 75, 3725].map(formatSeconds)).toEqual(['5s', '1m15s', '1h02m']);
  });
});
