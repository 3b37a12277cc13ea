import { useBackend } from '../../backend/useBackend.js';
import { InputError } from '../../errors.js';
import { classifyImages, loadClassifier } from '../../predict/classifier.js';
import { BACKENDS, choiceFlag, COMMON_FLAGS, type FlagSpecs, formatFlags, intFlag, MODEL_FLAG, parseFlags, stringFlag, workersFlag } from '../args.js';
import type { Command } from '../command.js';

const FLAGS: FlagSpecs = {
  ...MODEL_FLAG,
  'top-k': { type: 'string', value: 'K', help: 'classes shown per image (default 5)' },
  'batch-size': { type: 'string', value: 'N', help: 'images per forward pass (default 32)' },
  workers: { type: 'string', value: 'N|auto', help: 'threads for the forward passes, each with a copy of the model (default auto: one per core, with 4+ batches each)' },
  ...COMMON_FLAGS,
};

export const predictCommand: Command = {
  name: 'predict',
  summary: 'classify image files with a saved model (top-k classes and probabilities)',
  help: () => `Usage: mobilenetv2 predict --model DIR IMAGE... [options]

Classifies each IMAGE (PNG, JPEG, WebP, GIF) with a model saved by this library. Images are resized
to the model's input, converted to its channel count and normalized with the mean and std recorded
in its model.json; probabilities are the softmax of the model's logits.

Options:
${formatFlags(FLAGS)}

With --json the last stdout line is [{"file", "top": [{"className", "index", "probability"}, ...]}, ...].

Example:
  mobilenetv2 predict --model runs/digits --top-k 3 seven.png four.jpg`,

  async run(argv, io) {
    const { flags, positionals } = parseFlags('predict', argv, FLAGS, true);
    const dir = stringFlag(flags, 'model');
    if (dir === undefined) throw new InputError("--model DIR is required; run 'mobilenetv2 predict --help' for the options");
    if (positionals.length === 0) throw new InputError("no images given; usage: mobilenetv2 predict --model DIR IMAGE...");
    const topK = intFlag(flags, 'top-k', 1) ?? 5;
    const batchSize = intFlag(flags, 'batch-size', 1) ?? 32;
    await useBackend(choiceFlag(flags, 'backend', BACKENDS) ?? 'auto');
    const classifier = await loadClassifier(dir);
    try {
      const predictions = await classifyImages(classifier, positionals, { topK, batchSize, workers: workersFlag(flags) ?? 'auto' });
      if (flags.json) {
        io.stdout.write(`${JSON.stringify(predictions)}\n`);
      } else {
        const width = Math.max(...classifier.classNames.map((n) => n.length));
        for (const p of predictions) {
          io.stdout.write(`${p.file}\n`);
          for (const c of p.top) io.stdout.write(`  ${c.className.padEnd(width)}  ${(100 * c.probability).toFixed(2).padStart(6)}%\n`);
        }
      }
    } finally {
      classifier.model.dispose();
    }
    return 0;
  },
};
