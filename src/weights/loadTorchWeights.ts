import { InputError } from '../errors.js';
import { checkBoolean, checkOptions } from '../options/check.js';
import { readBytes } from '../io/bytes.js';
import { failureCode } from '../io/fetchBytes.js';
import { tf } from '../tf.js';
import { decodeFloat32, type SafetensorsFile } from './safetensors.js';
import { parseStateDict } from './stateDict.js';
import { isTorchFile } from './torchFile.js';
import { torchKeyMap } from './torchKeys.js';

export interface LoadTorchWeightsOptions {
  /**
   * Like PyTorch's `load_state_dict(strict=...)`. When true, any missing key, unexpected key or
   * shape mismatch is an {@link InputError} and the model is left untouched. When false, what
   * matches is loaded and the rest is reported. Default true.
   */
  strict?: boolean;
}

export interface ShapeMismatch {
  key: string;
  /** The model's shape, in PyTorch's layout. */
  expected: number[];
  /** The file's shape. */
  received: number[];
}

/** What a load did, like PyTorch's `_IncompatibleKeys` plus the keys that were loaded. */
export interface LoadTorchWeightsResult {
  /** state_dict keys copied into the model. */
  loaded: string[];
  /** state_dict keys the model has but the file lacks (and `layer/weight` names of model weights with no torchvision key). */
  missing: string[];
  /** Keys in the file that the model does not have. */
  unexpected: string[];
  /** Keys present in both with different shapes; not loaded. */
  mismatched: ShapeMismatch[];
}

/**
 * A weights file's bytes, from a path or (in Node and in pages) an http(s), blob or data URL;
 * an unreadable source is an {@link InputError} naming it.
 */
export async function readWeightsFile(path: string): Promise<Uint8Array> {
  try {
    return await readBytes(path);
  } catch (err) {
    throw new InputError(`${path}: cannot read the weights file (${failureCode(err)})`);
  }
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Loads a PyTorch MobileNetV2 state_dict, a `torch.save` file (`.pth`/`.pt`, zip or legacy
 * format) or safetensors, told apart by content (torchvision's or the seed's key
 * names: `features.0.0.weight`, `features.{i}.conv.{j}...`, `classifier.1.weight`) into a model
 * built by `mobileNetV2()` or `mobileNetV2Mnist()`, for any table, width, input size or head.
 *
 * Layouts are converted (conv OIHW → HWIO, depthwise [C, 1, 3, 3] → [3, 3, C, 1], Linear
 * [out, in] → [in, out]) and BN `weight/bias/running_mean/running_var` become
 * `gamma/beta/moving_mean/moving_variance`. F32, F16, BF16 and F64 tensors are read (upcast to
 * float32); the I64 `num_batches_tracked` buffers are ignored, as TF.js has no counterpart.
 *
 * Such files come from PyTorch as `torch.save(model.state_dict(), 'x.pth')` or
 * `safetensors.torch.save_file(model.state_dict(), 'x.safetensors')`; torchvision's own
 * downloads (`mobilenet_v2-7ebf99e0.pth`) load as they are. A `.pth` is read by a data-only
 * unpickler that refuses any global but the tensor-rebuilding ones, so it cannot run code.
 *
 * @param pathOrBytes - a file path or http(s) URL (in a web page: a URL, relative ones included), or the file's bytes.
 * @param options - `strict` (default true).
 * @returns the keys loaded and those skipped (all skips are errors when strict).
 * @throws InputError for a junk or truncated file, an unreadable path, a non-float weight, or
 *   (when strict) the first missing/unexpected/mismatched key, naming the key and both shapes.
 * @example
 * const model = mobileNetV2({ alpha: 0.5, numClasses: 10 });
 * // Fine-tune from ImageNet weights: everything but the 1000-class classifier.
 * const { mismatched } = await loadTorchWeights(model, 'mobilenet_v2-7ebf99e0.pth', { strict: false });
 */
export async function loadTorchWeights(
  model: tf.LayersModel,
  pathOrBytes: string | Uint8Array | ArrayBuffer,
  options: LoadTorchWeightsOptions = {},
): Promise<LoadTorchWeightsResult> {
  checkOptions(options, ['strict'], 'loadTorchWeights');
  const strict = checkBoolean('strict', options?.strict ?? true);
  let file: SafetensorsFile;
  let source: string;
  if (typeof pathOrBytes === 'string') {
    source = pathOrBytes;
    file = parseStateDict(await readWeightsFile(pathOrBytes), source);
  } else if (pathOrBytes instanceof Uint8Array || pathOrBytes instanceof ArrayBuffer) {
    const bytes = pathOrBytes instanceof Uint8Array ? pathOrBytes : new Uint8Array(pathOrBytes);
    source = isTorchFile(bytes) ? 'the .pth bytes' : 'the safetensors bytes';
    file = parseStateDict(bytes, source);
  } else {
    throw new InputError(`loadTorchWeights: expected a file path, Uint8Array or ArrayBuffer; received a ${typeof pathOrBytes}`);
  }
  return loadStateDict(model, file, source, strict);
}

/**
 * {@link loadTorchWeights} for a state_dict already parsed (`parseStateDict`), for callers that
 * read its shapes first; `source` names it in errors.
 */
export function loadStateDict(model: tf.LayersModel, file: SafetensorsFile, source: string, strict: boolean): LoadTorchWeightsResult {
  const map = torchKeyMap(model);
  const result: LoadTorchWeightsResult = { loaded: [], missing: [...map.unmapped], unexpected: [], mismatched: [] };
  const problems: string[] = map.unmapped.map((name) => `model weight ${name} has no torchvision state_dict key`);
  const known = new Set(map.batchNorms.map((prefix) => `${prefix}.num_batches_tracked`));
  const matched: { param: (typeof map.params)[number]; data: Float32Array }[] = [];
  for (const param of map.params) {
    known.add(param.key);
    const entry = file.tensors.get(param.key);
    if (entry === undefined) {
      result.missing.push(param.key);
      problems.push(`${param.key}: missing from ${source}; the model needs shape ${fmt(param.torchShape)}`);
    } else if (entry.shape.length !== param.torchShape.length || entry.shape.some((d, i) => d !== param.torchShape[i])) {
      result.mismatched.push({ key: param.key, expected: param.torchShape, received: entry.shape });
      problems.push(`${param.key}: shape ${fmt(entry.shape)} in ${source} does not match the model's ${fmt(param.torchShape)}`);
    } else {
      // Decoded (and dtype-checked) before anything is written, so a bad file leaves the model as it was.
      matched.push({ param, data: decodeFloat32(entry, param.key, source) });
    }
  }
  for (const [key, entry] of file.tensors) {
    if (known.has(key)) continue;
    result.unexpected.push(key);
    problems.push(`${key}: in ${source} (shape ${fmt(entry.shape)}) but the model has no such weight`);
  }

  if (strict && problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new InputError(`${problems[0]}${more}; pass { strict: false } to load the rest`);
  }

  for (const { param, data } of matched) {
    const value = tf.tensor(param.toTf(data), param.variable.shape as number[], 'float32');
    param.variable.write(value);
    value.dispose();
    result.loaded.push(param.key);
  }
  return result;
}
