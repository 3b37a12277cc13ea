import { InputError } from '../errors.js';
import type { tf } from '../tf.js';
import { writeSafetensors, type SafetensorsInput } from './safetensors.js';
import { torchKeyMap } from './torchKeys.js';

/**
 * The model's weights as a torchvision-style state_dict, in PyTorch's layouts and key order:
 * F32 tensors, plus an I64 `num_batches_tracked` scalar (0) after each BatchNorm's buffers,
 * because `load_state_dict(strict=True)` requires that buffer.
 *
 * @throws InputError if the model has weights with no torchvision counterpart.
 * @example
 * const bytes = encodeSafetensors(torchStateDict(model), { format: 'pt' });
 */
export function torchStateDict(model: tf.LayersModel): Record<string, SafetensorsInput> {
  const map = torchKeyMap(model);
  if (map.unmapped.length > 0) {
    throw new InputError(`saveTorchWeights: model weight ${map.unmapped[0]} has no torchvision state_dict key; only MobileNetV2 layers can be saved in torchvision format`);
  }
  const batchNorms = new Set(map.batchNorms);
  const out: Record<string, SafetensorsInput> = {};
  map.params.forEach((param, i) => {
    const data = param.toTorch(param.variable.read().dataSync() as Float32Array);
    out[param.key] = { dtype: 'F32', shape: param.torchShape, data };
    const prefix = param.key.slice(0, param.key.lastIndexOf('.'));
    const next = map.params[i + 1]?.key;
    if (batchNorms.has(prefix) && (next === undefined || !next.startsWith(`${prefix}.`))) {
      out[`${prefix}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: new BigInt64Array([0n]) };
    }
  });
  return out;
}

/**
 * Saves a model built by `mobileNetV2()`/`mobileNetV2Mnist()` as a PyTorch state_dict in
 * safetensors format, with torchvision's key names and layouts, so that PyTorch loads it with
 * `model.load_state_dict(safetensors.torch.load_file(path), strict=True)`. The file is written
 * atomically (temporary file, then rename).
 *
 * @example
 * await saveTorchWeights(model, 'runs/mnist/weights.safetensors');
 * // Python: model.load_state_dict(safetensors.torch.load_file('runs/mnist/weights.safetensors'))
 */
export async function saveTorchWeights(model: tf.LayersModel, path: string): Promise<void> {
  await writeSafetensors(path, torchStateDict(model), { format: 'pt', producer: 'mobilenetv2-tfjs' });
}
