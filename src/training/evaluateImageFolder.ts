import type { Batch, BatchOptions, Dataset } from '../data/dataset.js';
import type { ResizeFit } from '../data/decodeImage.js';
import { type CacheMode, imageFolder, scanImageFolder } from '../data/imageFolder.js';
import { InputError } from '../errors.js';
import { writeConfusionMatrix } from '../finetune/confusion.js';
import { type Logger, silentLogger } from '../logger.js';
import type { EngineOptions } from '../engines/engine.js';
import { checkOptions, keysOf } from '../options/check.js';
import type { WorkersOption } from '../parallel/workers.js';
import { type Classifier, loadClassifier } from '../predict/classifier.js';
import { tf } from '../tf.js';
import { type ClassMetrics, classMetrics } from './classMetrics.js';
import { evaluate, type EvaluateResult } from './evaluate.js';

/** Options of {@link evaluateImageFolder}. */
export interface EvaluateImageFolderOptions extends EngineOptions {
  /** Images per forward pass. Default 32. */
  batchSize?: number;
  /** The k of `topKAccuracy` (capped at the model's class count). Default 5. */
  topK?: number;
  /** Ranks for the forward passes ('auto': one per core, when the work pays for their start-up). Default 'auto'. */
  workers?: WorkersOption;
  /** Decoded-image cache (see `imageFolder`). Default 'stream': one pass needs no cache. */
  cache?: CacheMode | 'auto';
  /** How images of another aspect ratio are fitted, for models without a recorded `resize`. Default 'cover'. */
  fit?: ResizeFit;
  /** Fail when more than this fraction of the images cannot be decoded. Default 0.05. */
  maxCorruptFraction?: number;
  /** Write `confusion.svg` and `confusion.png` here. Default: nothing written. */
  out?: string;
  /** Warnings (skipped images, a plot that could not be drawn). Default silent. */
  logger?: Logger;
}

const OPTION_NAMES = keysOf<EvaluateImageFolderOptions>()({
  batchSize: true, topK: true, workers: true, cache: true, fit: true, maxCorruptFraction: true, out: true, logger: true, engine: true, threads: true,
});

/** What {@link evaluateImageFolder} measured. */
export interface ImageFolderEvaluation extends Omit<EvaluateResult, 'confusion'> {
  folder: string;
  /** The model's classes, in output order. */
  classNames: string[];
  /** Precision and recall of every model class, in output order (recall null for `missingClasses`). */
  perClass: ClassMetrics[];
  /** Model classes with no folder in the data. */
  missingClasses: string[];
  /** confusion[label][predicted] over `confusionClasses`: the model classes that are in the data or were predicted. */
  confusion: number[][];
  confusionClasses: string[];
}

const listed = (names: readonly string[], max = 10) =>
  names.slice(0, max).map((n) => `'${n}'`).join(', ') + (names.length > max ? `, ... (${names.length} in all)` : '');

/** `data` with its labels mapped to the model's class indices, and the model's class names. */
function relabelled(data: Dataset, classNames: readonly string[], toModel: Int32Array): Dataset {
  const labels = data.labels().map((label) => toModel[label]!);
  return {
    length: data.length, classNames, inputShape: data.inputShape, mean: data.mean, std: data.std,
    labels: () => labels.slice(),
    async batch(indices: ArrayLike<number>, options?: BatchOptions): Promise<Batch> {
      const { x, y } = await data.batch(indices, options);
      const mapped = tf.tidy(() => tf.gather(tf.tensor1d(toModel, 'int32'), y) as tf.Tensor1D);
      y.dispose();
      return { x, y: mapped };
    },
  };
}

/**
 * Evaluates a saved classifier on an image folder, `DIR/<class>/<image>`: the images are read
 * as the model was trained (its recorded input shape, mean, std and, when present, torchvision's
 * resize and crop), each class folder is matched to the model's class of the same name, and the
 * model runs in inference mode. Reports top-1 and top-k accuracy, loss, per-class precision and
 * recall and the confusion matrix (drawn to `out/confusion.{svg,png}` when `out` is set).
 *
 * A folder whose name is not one of the model's classes is an InputError naming it; a model
 * class with no folder is fine and listed in `missingClasses`. `classifierOrDir` is a model
 * directory (loaded and disposed here) or a {@link Classifier} (left to the caller). Leaves no
 * tensors behind.
 *
 * @example
 * const report = await evaluateImageFolder('runs/flowers', 'data/flowers-test', { out: 'runs/flowers/test' });
 * console.log(report.accuracy, report.topKAccuracy, report.perClass);
 */
export async function evaluateImageFolder(
  classifierOrDir: Classifier | string, folder: string, options: EvaluateImageFolderOptions = {},
): Promise<ImageFolderEvaluation> {
  checkOptions(options, OPTION_NAMES, 'evaluateImageFolder');
  const logger = options.logger ?? silentLogger;
  const owned = typeof classifierOrDir === 'string';
  const classifier = owned
    ? await loadClassifier(classifierOrDir, { ...(options.engine && { engine: options.engine }), ...(options.threads && { threads: options.threads }) })
    : classifierOrDir;
  try {
    const { classNames } = classifier;
    const scan = await scanImageFolder(folder);
    const unknown = scan.classNames.filter((name) => !classNames.includes(name));
    if (unknown.length > 0) {
      const which = unknown.length === 1 ? `class folder ${listed(unknown)} is not a class` : `class folders ${listed(unknown)} are not classes`;
      throw new InputError(`${folder}: ${which} of the model, whose ${classNames.length} classes are ${listed(classNames)}; rename or remove ${unknown.length === 1 ? 'it' : 'them'}`);
    }
    const data = await imageFolder(folder, {
      inputShape: classifier.inputShape, mean: classifier.mean, std: classifier.std, resize: classifier.resize, fit: options.fit,
      cache: options.cache ?? 'stream', maxCorruptFraction: options.maxCorruptFraction, logger,
    });
    const toModel = Int32Array.from(data.classNames, (name) => classNames.indexOf(name));
    const result = await evaluate(classifier.model, relabelled(data, classNames, toModel), {
      batchSize: options.batchSize ?? 32, topK: options.topK, workers: options.workers ?? 'auto', confusion: true,
      engine: options.engine ?? classifier.engine, threads: options.threads ?? classifier.threads, logger,
    });
    const full = result.confusion!;
    const perClass = classMetrics(full, classNames);
    const shown = perClass.flatMap((m, i) => (m.support > 0 || m.predicted > 0 ? [i] : []));
    const confusion = shown.map((label) => shown.map((predicted) => full[label]![predicted]!));
    const confusionClasses = shown.map((i) => classNames[i]!);
    if (options.out) {
      await writeConfusionMatrix(options.out, confusion, confusionClasses, folder).catch((error: Error) => {
        logger.warn(`could not draw the confusion matrix in ${options.out}: ${error.message}`);
      });
    }
    const { confusion: _full, ...totals } = result;
    return {
      ...totals, folder, classNames: [...classNames], perClass,
      missingClasses: classNames.filter((name) => !data.classNames.includes(name)), confusion, confusionClasses,
    };
  } finally {
    if (owned) classifier.model.dispose();
  }
}
