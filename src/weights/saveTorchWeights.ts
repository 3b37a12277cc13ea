import { InputError } from '../errors.js';
import { architectureOf } from '../models/architectureOf.js';
import type { tf } from '../tf.js';
import { readModelMetadata } from '../training/metadata.js';
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
 * The safetensors `__metadata__` that {@link saveTorchWeights} writes beside the tensors:
 * `format: 'pt'` and the producer, plus, as JSON strings, `architecture` (the model's
 * `ArchitectureConfig`, for a MobileNetV2 of this library) and `preprocessing` (`classNames`,
 * `mean`, `std`, `inputShape` and `resize`, when the model records them). With these,
 * scripts/torch_ddp.py rebuilds the same network in PyTorch and feeds it images the same way.
 */
export function torchMetadata(model: tf.LayersModel): Record<string, string> {
  const metadata: Record<string, string> = { format: 'pt', producer: 'mobilenetv2-tfjs' };
  const arch = architectureOf(model);
  if (arch !== null) metadata.architecture = JSON.stringify(arch.config);
  let recorded: ReturnType<typeof readModelMetadata> | undefined;
  try {
    recorded = readModelMetadata(model, model.name);
  } catch {
    // A model that was never trained or saved here records no preprocessing; that is fine.
  }
  if (recorded !== undefined) {
    const { classNames, mean, std, inputShape, resize } = recorded;
    metadata.preprocessing = JSON.stringify({ classNames, mean, std, inputShape, ...(resize !== undefined && { resize }) });
  }
  return metadata;
}

/**
 * Saves a model built by `mobileNetV2()`/`mobileNetV2Mnist()` as a PyTorch state_dict in
 * safetensors format, with torchvision's key names and layouts, so that PyTorch loads it with
 * `model.load_state_dict(safetensors.torch.load_file(path), strict=True)`. The file is written
 * atomically (temporary file, then rename). Its metadata ({@link torchMetadata}) says which
 * network it is, for scripts/torch_ddp.py (training on many processes or machines with DDP).
 *
 * @example
 * await saveTorchWeights(model, 'runs/mnist/weights.safetensors');
 * // Python: model.load_state_dict(safetensors.torch.load_file('runs/mnist/weights.safetensors'))
 */
export async function saveTorchWeights(model: tf.LayersModel, path: string): Promise<void> {
  await writeSafetensors(path, torchStateDict(model), torchMetadata(model));
}
