import type { Dataset } from '../data/dataset.js';
import { InputError } from '../errors.js';
import type { tf } from '../tf.js';

/**
 * What every saved model records in `model.json` → `userDefinedMetadata`, so that any tool can
 * feed it correctly: class names in output order, and the input normalization
 * (x − mean) / std over [0, 1] pixels per channel (torchvision's convention). Training adds
 * more keys (epoch, accuracy, recipe, ...).
 */
export interface ModelMetadata {
  classNames: string[];
  mean: number[];
  std: number[];
  /** [height, width]. */
  inputSize: [number, number];
  /** [height, width, channels], NHWC. */
  inputShape: [number, number, number];
  /**
   * torchvision's eval transform: the shorter side is resized to this before the center crop
   * to the input size (232 for IMAGENET1K_V2 at 224). Absent: resize straight to the input size.
   */
  resize?: number;
  [key: string]: unknown;
}

/**
 * The metadata that describes models trained on `data`, plus `extra` keys.
 *
 * @example
 * model.setUserDefinedMetadata(datasetMetadata(train, { epoch: 3 }));
 */
export function datasetMetadata(data: Dataset, extra: Record<string, unknown> = {}): ModelMetadata {
  const [h, w, c] = data.inputShape;
  return {
    ...extra,
    classNames: [...data.classNames],
    mean: [...data.mean],
    std: [...data.std],
    inputSize: [h, w],
    inputShape: [h, w, c],
  };
}

const isNumberArray = (v: unknown, n?: number): v is number[] =>
  Array.isArray(v) && (n === undefined || v.length === n) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/**
 * Reads and checks a loaded model's {@link ModelMetadata}. `where` names the model in errors
 * (its directory, usually).
 *
 * @example
 * const meta = readModelMetadata(await loadModel(dir), dir);
 */
export function readModelMetadata(model: tf.LayersModel, where: string): ModelMetadata {
  const meta = model.getUserDefinedMetadata() as Partial<ModelMetadata> | undefined;
  const { classNames, mean, std, inputShape } = meta ?? {};
  // A model that was built but never trained or saved by this library records its architecture only.
  if (meta == null || typeof meta !== 'object' || (classNames === undefined && mean === undefined && inputShape === undefined)) {
    throw new InputError(`${where}: model.json has no userDefinedMetadata for its inputs and classes; expected classNames, mean, std and inputShape`);
  }
  if (!Array.isArray(classNames) || classNames.length === 0 || !classNames.every((n) => typeof n === 'string')) {
    throw new InputError(`${where}: userDefinedMetadata.classNames must be a non-empty array of strings`);
  }
  if (!isNumberArray(inputShape, 3) || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new InputError(`${where}: userDefinedMetadata.inputShape must be [height, width, channels]`);
  }
  const channels = inputShape[2];
  if (!isNumberArray(mean, channels) || !isNumberArray(std, channels) || std.some((s) => s <= 0)) {
    throw new InputError(`${where}: userDefinedMetadata.mean and std must be ${channels} finite numbers each (std > 0)`);
  }
  const { resize } = meta;
  if (resize !== undefined && !(Number.isInteger(resize) && resize >= Math.max(inputShape[0], inputShape[1]))) {
    throw new InputError(`${where}: userDefinedMetadata.resize must be an integer >= the input's height and width; received ${JSON.stringify(resize)}`);
  }
  return { ...meta, classNames, mean, std, inputShape, inputSize: [inputShape[0], inputShape[1]] } as ModelMetadata;
}
