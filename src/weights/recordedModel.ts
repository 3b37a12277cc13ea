import { defaultNormalization } from '../data/normalization.js';
import { InputError } from '../errors.js';
import { architectureConfig, type ArchitectureConfig } from '../models/architecture.js';
import { mobileNetV2 } from '../models/mobilenetv2.js';
import type { tf } from '../tf.js';
import { loadStateDict, readWeightsFile } from './loadTorchWeights.js';
import type { SafetensorsFile } from './safetensors.js';
import { parseStateDict } from './stateDict.js';

/** The preprocessing a state_dict's metadata records (see `torchMetadata` in saveTorchWeights.ts). */
export interface RecordedPreprocessing {
  classNames?: string[];
  mean?: number[];
  std?: number[];
  inputShape?: [number, number, number];
  resize?: number;
}

/** The network and preprocessing a state_dict of this library (or of scripts/torch_ddp.py) records. */
export interface RecordedTorchModel {
  config: ArchitectureConfig;
  preprocessing: RecordedPreprocessing;
}

const isNumbers = (v: unknown, length?: number): v is number[] =>
  Array.isArray(v) && (length === undefined || v.length === length) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/**
 * What `saveTorchWeights` (and `scripts/torch_ddp.py`, which keeps it) wrote into a safetensors
 * state_dict's metadata: the `ArchitectureConfig` the weights belong to (any width, table and
 * head) and the preprocessing (`classNames`, `mean`, `std`, `inputShape`, `resize`), so that a
 * model comes back as it left. Null for a state_dict that records no architecture (torchvision's
 * own files, a `.pth`). Metadata that is there but malformed is an `InputError` naming `where`
 * and the key, not a silent fallback to guessing.
 *
 * @example
 * const recorded = recordedTorchModel(parseStateDict(bytes, 'trained.safetensors'), 'trained.safetensors');
 * if (recorded) mobileNetV2(recorded.config);
 */
export function recordedTorchModel(file: SafetensorsFile, where: string): RecordedTorchModel | null {
  const raw = file.metadata.architecture;
  if (raw === undefined) return null;
  const json = (key: string, text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      throw new InputError(`${where}: its metadata '${key}' is not JSON`);
    }
  };
  let config: ArchitectureConfig;
  try {
    config = architectureConfig(json('architecture', raw) as Parameters<typeof architectureConfig>[0]);
  } catch (error) {
    throw new InputError(`${where}: its metadata 'architecture' is not a MobileNetV2 configuration (${(error as Error).message})`);
  }
  const text = file.metadata.preprocessing;
  const pre = (text === undefined ? {} : json('preprocessing', text)) as Record<string, unknown>;
  const bad = (field: string, expected: string) => new InputError(`${where}: its metadata 'preprocessing.${field}' must be ${expected}`);
  if (pre === null || typeof pre !== 'object' || Array.isArray(pre)) throw new InputError(`${where}: its metadata 'preprocessing' must be an object`);
  const channels = config.inputShape[2];
  const preprocessing: RecordedPreprocessing = {};
  if (pre.classNames !== undefined) {
    if (!Array.isArray(pre.classNames) || !pre.classNames.every((n) => typeof n === 'string')) throw bad('classNames', 'an array of strings');
    preprocessing.classNames = pre.classNames as string[];
  }
  for (const key of ['mean', 'std'] as const) {
    if (pre[key] === undefined) continue;
    if (!isNumbers(pre[key], channels)) throw bad(key, `${channels} numbers, one per input channel`);
    preprocessing[key] = pre[key];
  }
  if (preprocessing.std?.some((s) => s <= 0)) throw bad('std', 'positive');
  if (pre.inputShape !== undefined) {
    if (!isNumbers(pre.inputShape, 3) || !pre.inputShape.every((d) => Number.isInteger(d) && d > 0) || pre.inputShape[2] !== channels) {
      throw bad('inputShape', `[height, width, ${channels}]`);
    }
    preprocessing.inputShape = pre.inputShape as [number, number, number];
  }
  if (pre.resize !== undefined) {
    if (!(typeof pre.resize === 'number' && Number.isInteger(pre.resize) && pre.resize > 0)) throw bad('resize', 'a positive integer');
    preprocessing.resize = pre.resize;
  }
  return { config, preprocessing };
}

/** Options of {@link loadRecordedTorchModel}. */
export interface RecordedTorchModelOptions {
  /** Class names, overriding the recorded ones. Default: the recorded ones, else '0', '1', …. */
  classNames?: readonly string[];
}

/**
 * The model a state_dict file of this library describes (see {@link recordedTorchModel}), built
 * from its recorded `ArchitectureConfig` and loaded strictly (every tensor must fit), with its
 * recorded preprocessing as the model's metadata, so that `predict` and `export` treat it like a
 * saved model directory. Null when the file records no architecture (torchvision's own files):
 * those go through `pretrainedMobileNetV2({ file })`, which measures them.
 *
 * @example
 * const model = await loadRecordedTorchModel('trained.safetensors'); // back from torchrun
 */
export async function loadRecordedTorchModel(path: string, options: RecordedTorchModelOptions = {}): Promise<tf.LayersModel | null> {
  const stateDict = parseStateDict(await readWeightsFile(path), path);
  const recorded = recordedTorchModel(stateDict, path);
  if (recorded === null) return null;
  const { config, preprocessing: pre } = recorded;
  const inputShape = pre.inputShape ?? config.inputShape;
  const model = mobileNetV2({ ...config, inputShape });
  try {
    loadStateDict(model, stateDict, path, true);
    if (config.includeTop) {
      const names = options.classNames ?? pre.classNames ?? Array.from({ length: config.numClasses }, (_, i) => String(i));
      if (names.length !== config.numClasses) {
        throw new InputError(`${path}: its classifier has ${config.numClasses} outputs, but ${names.length} class names were given`);
      }
      const fallback = defaultNormalization(inputShape[2]);
      model.setUserDefinedMetadata({
        ...(model.getUserDefinedMetadata() as object), classNames: [...names], mean: pre.mean ?? fallback.mean, std: pre.std ?? fallback.std,
        inputShape: [...inputShape], ...(pre.resize !== undefined && { resize: pre.resize }),
      });
    }
    return model;
  } catch (error) {
    model.dispose();
    throw error;
  }
}
