import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeImage, type ResizeFit } from '../data/decodeImage.js';
import { checkEngineOptions, chooseEngine, type EngineOptions, type InferenceEngine } from '../engines/engine.js';
import { InputError } from '../errors.js';
import { loadModel } from '../io/fileSystem.js';
import { tf } from '../tf.js';
import { inferBatches } from '../parallel/inferBatches.js';
import type { WorkersOption } from '../parallel/workers.js';
import { checkInt, checkOptions } from '../options/check.js';
import { readModelMetadata } from '../training/metadata.js';

/** A saved model plus what it needs to be fed: classes, input shape and normalization from its metadata. */
export interface Classifier {
  model: tf.LayersModel;
  classNames: string[];
  inputShape: [number, number, number];
  mean: number[];
  std: number[];
  /** Shorter side before the center crop (torchvision's eval transform), from the metadata. Default: resize to the input ('cover'). */
  resize?: number;
  /** The engine {@link classifyImages} and {@link embedImages} run on unless told otherwise (see `InferenceEngine`). Default 'auto'. */
  engine?: InferenceEngine;
  /** onnxruntime's threads. Default: every core. */
  threads?: number;
}

/** Options of {@link loadClassifier}: the engine the classifier runs on and its threads. */
export type LoadClassifierOptions = Omit<EngineOptions, 'logger'>;

/** One class of a prediction. */
export interface ClassScore {
  className: string;
  index: number;
  /** Softmax of the logits. */
  probability: number;
}

export interface Prediction {
  file: string;
  /** The `topK` most probable classes, most probable first. */
  top: ClassScore[];
}

/** Options of {@link classifyImages}; `engine` and `threads` override the classifier's. */
export interface ClassifyOptions extends EngineOptions {
  /** Classes returned per image. Default 5 (at most the class count). */
  topK?: number;
  /** Images per forward pass. Default 32. */
  batchSize?: number;
  /** How images of another aspect ratio are fitted. Default 'cover'. */
  fit?: ResizeFit;
  /**
   * Ranks for the tfjs engine's forward passes: this thread plus worker threads with copies of
   * the model ('auto': one per core, when the work pays for their start-up; see
   * `predictBatches`). Default 'auto'.
   */
  workers?: WorkersOption;
}

/**
 * Loads a model directory saved by this library (or any TF.js LayersModel whose
 * `userDefinedMetadata` has classNames, mean, std and inputShape). The caller disposes `model`.
 * With an onnxruntime engine ('auto', the default, when onnxruntime-node is installed and the
 * model is a MobileNetV2 of this library; or 'onnxruntime'), the model's session is created
 * here, once: {@link classifyImages} and {@link embedImages} reuse it.
 *
 * @example
 * const classifier = await loadClassifier('runs/digits');
 * const fast = await loadClassifier('runs/digits', { engine: 'onnxruntime', threads: 2 });
 */
export async function loadClassifier(dir: string, options: LoadClassifierOptions = {}): Promise<Classifier> {
  checkOptions(options, ['engine', 'threads'], 'loadClassifier');
  const { engine, threads } = checkEngineOptions(options);
  const modelDir = path.basename(dir) === 'model.json' ? path.dirname(dir) : dir;
  const model = await loadModel(modelDir);
  try {
    const classifier: Classifier = { ...classifierOf(model, modelDir), engine, ...(threads !== undefined && { threads }) };
    if (engine !== 'tfjs') await chooseEngine(model, { engine, threads });
    return classifier;
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/**
 * A {@link Classifier} for a model in memory, from its metadata (e.g. `pretrainedMobileNetV2()`'s).
 * `where` names the model in errors.
 *
 * @example
 * const classifier = classifierOf(await pretrainedMobileNetV2(), 'IMAGENET1K_V2');
 */
export function classifierOf(model: tf.LayersModel, where: string): Classifier {
  const meta = readModelMetadata(model, where);
  const outputs = (model.outputs[0].shape as number[])[1];
  if (outputs !== meta.classNames.length) {
    throw new InputError(`${where}: the model outputs ${outputs} classes but its metadata names ${meta.classNames.length}`);
  }
  return { model, classNames: meta.classNames, inputShape: meta.inputShape, mean: meta.mean, std: meta.std, ...(meta.resize && { resize: meta.resize }) };
}

/** Decodes `files` as the classifier was trained: its input shape and, when recorded, torchvision's resize and crop; [0, 1] pixels. */
async function loadImages(classifier: Classifier, files: readonly string[], fit: ResizeFit | undefined): Promise<Float32Array> {
  const { inputShape, resize } = classifier;
  const size = inputShape[0] * inputShape[1] * inputShape[2];
  const pixels = new Float32Array(files.length * size);
  await Promise.all(files.map(async (file, i) => {
    let image: Uint8Array;
    try {
      const stat = await fs.stat(file).catch(() => null);
      if (!stat?.isFile()) throw new Error(stat ? 'not a file' : 'no such file');
      image = await decodeImage(file, inputShape, { fit, resize });
    } catch (error) {
      throw new InputError(`${file}: cannot read the image (${(error as Error).message.split('\n')[0]}); expected a PNG, JPEG, WebP or GIF file`);
    }
    for (let j = 0; j < size; j++) pixels[i * size + j] = image[j] / 255;
  }));
  return pixels;
}

const normalized = (classifier: Classifier, pixels: Float32Array, count: number) => tf.tidy(() =>
  tf.tensor4d(pixels, [count, ...classifier.inputShape]).sub(tf.tensor1d(classifier.mean)).div(tf.tensor1d(classifier.std)) as tf.Tensor4D);

/** The call's engine options over the classifier's. */
const engineOf = (classifier: Classifier, options: EngineOptions): EngineOptions => ({
  engine: options.engine ?? classifier.engine,
  threads: options.threads ?? classifier.threads,
  logger: options.logger,
});

/** Options of {@link embedImages}; `engine` and `threads` override the classifier's. */
export interface EmbedImagesOptions extends EngineOptions {
  /** Images per forward pass. Default 32. */
  batchSize?: number;
  /** tfjs engine: ranks for the forward passes, as in {@link classifyImages}. Default 'auto'. */
  workers?: WorkersOption;
}

/**
 * Pooled features (`embed`'s) of image files, preprocessed as the classifier expects, in
 * batches through the one batch-inference loop (`inferBatches`, its features output): one row
 * of `dim` values per file, file order.
 *
 * @example
 * const { features, dim } = await embedImages(await loadClassifier('runs/digits'), ['a.png', 'b.png']);
 */
export async function embedImages(classifier: Classifier, files: readonly string[], options: EmbedImagesOptions = {}): Promise<{ features: Float32Array; dim: number }> {
  checkOptions(options, ['batchSize', 'workers', 'engine', 'threads', 'logger'], 'embedImages');
  const batchSize = checkInt('batchSize', options.batchSize ?? 32, { min: 1 });
  const chunks = chunked(files, batchSize);
  const rows: Float32Array[] = [];
  let dim = 0;
  await inferBatches(classifier.model, {
    count: chunks.length,
    load: async (c) => normalized(classifier, await loadImages(classifier, chunks[c]!, undefined), chunks[c]!.length),
    input: (x) => x,
    use: async (_, y, c) => {
      // A model without top and without pooling ends with the last conv's map.
      const pooled = y.rank === 4 ? tf.mean(y, [1, 2]) : y;
      dim = pooled.shape[1]!;
      rows[c] = (await pooled.data()) as Float32Array;
      if (pooled !== y) pooled.dispose();
    },
    release: (x) => x.dispose(),
  }, { ...engineOf(classifier, options), workers: options.workers ?? 'auto', output: 'features' });
  const features = new Float32Array(files.length * dim);
  rows.reduce((at, row) => (features.set(row, at), at + row.length), 0);
  return { features, dim };
}

/** `files` in batches of `size`. */
const chunked = (files: readonly string[], size: number) =>
  Array.from({ length: Math.ceil(files.length / size) }, (_, c) => files.slice(c * size, (c + 1) * size));

/**
 * Classifies image files (PNG, JPEG, WebP, GIF) with a {@link Classifier}: each is decoded and
 * resized as in training, normalized with the model's recorded mean and std, and scored with
 * the softmax of the model's logits. Batched, in inference mode, and leaves no tensors behind.
 *
 * @throws InputError naming the first file that cannot be read or decoded.
 * @example
 * const classifier = await loadClassifier('runs/digits');
 * const [p] = await classifyImages(classifier, ['seven.png'], { topK: 3 });
 * console.log(p.top[0].className, p.top[0].probability);
 */
export async function classifyImages(classifier: Classifier, files: readonly string[], options: ClassifyOptions = {}): Promise<Prediction[]> {
  checkOptions(options, ['topK', 'batchSize', 'fit', 'workers', 'engine', 'threads', 'logger'], 'classifyImages');
  const { model, classNames } = classifier;
  const topK = checkInt('topK', options.topK ?? 5, { min: 1 });
  const batchSize = checkInt('batchSize', options.batchSize ?? 32, { min: 1 });
  const k = Math.min(topK, classNames.length);
  const decode = async (chunk: readonly string[]): Promise<tf.Tensor4D> => {
    const pixels = await loadImages(classifier, chunk, options.fit);
    return normalized(classifier, pixels, chunk.length);
  };
  const chunks = chunked(files, batchSize);
  const predictions: Prediction[] = [];
  await inferBatches(model, {
    count: chunks.length,
    load: (c) => decode(chunks[c]!),
    input: (x) => x,
    use: async (_, logits, c) => {
      const { values, indices } = tf.tidy(() => tf.topk(tf.softmax(logits as tf.Tensor2D), k));
      const [p, idx] = await Promise.all([values.data(), indices.data()]).finally(() => tf.dispose([values, indices]));
      chunks[c]!.forEach((file, i) => {
        const top = Array.from({ length: k }, (_, j) => {
          const index = idx[i * k + j]!;
          return { className: classNames[index]!, index, probability: p[i * k + j]! };
        });
        predictions.push({ file, top });
      });
    },
    release: (x) => x.dispose(),
  }, { ...engineOf(classifier, options), workers: options.workers ?? 'auto' });
  return predictions;
}
