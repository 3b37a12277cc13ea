/**
 * How far evaluation with BatchNorm's moving averages lags behind the model, step by step, in a
 * run from scratch: after every epoch, the validation accuracy with the moving statistics as
 * training left them, and with statistics recalibrated over the training images
 * (recalibrateBatchNorm), after which the moving statistics are put back so that training goes on
 * exactly as without it. The data behind fineTune's SHORT_RUN_STEPS.
 *
 *   npx tsx scripts/make-image-folder.ts --out data/shapes-300 --per-class 100 --shapes --size 96 --seed 3
 *   npx tsx scripts/bn-recalibration.ts --data data/shapes-300 --epochs 60 --input-size 96
 */
import { parseArgs } from 'node:util';
import { useBackend } from '../src/backend/useBackend.js';
import { imageFolder, scanImageFolder } from '../src/data/imageFolder.js';
import { stratifiedSplit } from '../src/data/split.js';
import { subset } from '../src/data/subset.js';
import { loadStartingPoint } from '../src/finetune/start.js';
import { tf } from '../src/tf.js';
import { evaluate } from '../src/training/evaluate.js';
import { recalibrateBatchNorm } from '../src/training/recalibrateBatchNorm.js';
import { train } from '../src/training/trainer.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    epochs: { type: 'string', default: '60' },
    'input-size': { type: 'string', default: '96' },
    'batch-size': { type: 'string', default: '32' },
    seed: { type: 'string', default: '1' },
  },
});
if (!values.data) throw new Error('usage: npx tsx scripts/bn-recalibration.ts --data DIR [--epochs 60] [--input-size 96] [--batch-size 32] [--seed 1]');
const size = Number(values['input-size']);
const batchSize = Number(values['batch-size']);
const seed = Number(values.seed);

await useBackend('auto');
const { classNames } = await scanImageFolder(values.data);
const start = await loadStartingPoint({ classNames, inputSize: [size, size], seed });
const folder = await imageFolder(values.data, { inputShape: start.inputShape, mean: start.mean, std: start.std });
const split = stratifiedSplit(folder.labels(), 0.1, seed);
const [trainSet, valSet] = [subset(folder, split.train), subset(folder, split.val)];
const bns = start.model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
const stepsPerEpoch = Math.ceil(trainSet.length / batchSize);

process.stdout.write(`${trainSet.length} training and ${valSet.length} validation images, ${stepsPerEpoch} steps per epoch\n`);
process.stdout.write('| epoch | steps | training accuracy (training mode) | validation, moving averages | validation, recalibrated |\n|---|---|---|---|---|\n');
await train(start.model, trainSet, {
  epochs: Number(values.epochs), batchSize, seed, learningRate: 1e-3, validationData: valSet,
  callbacks: {
    async onEpochEnd(metrics) {
      const saved = bns.map((l) => l.getWeights().map((w) => w.clone()));
      await recalibrateBatchNorm(start.model, trainSet, { batchSize, seed: metrics.epoch });
      const recalibrated = await evaluate(start.model, valSet);
      bns.forEach((l, i) => l.setWeights(saved[i]!));
      tf.dispose(saved.flat());
      const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
      process.stdout.write(`| ${metrics.epoch} | ${metrics.epoch * stepsPerEpoch} | ${pct(metrics.trainAccuracy)} | ${pct(metrics.valAccuracy!)} | ${pct(recalibrated.accuracy)} |\n`);
    },
  },
});
start.model.dispose();
