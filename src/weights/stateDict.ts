import { parseSafetensors, type SafetensorsFile } from './safetensors.js';
import { isTorchFile, parseTorchFile } from './torchFile.js';

/**
 * Parses a state_dict from its bytes, telling the format by content, not by file name: a
 * torch.save file (zip or legacy, see {@link parseTorchFile}) or safetensors (see
 * {@link parseSafetensors}). Either way the result maps state_dict keys to dtype, shape and
 * little-endian bytes. A state_dict saved from a DataParallel/DistributedDataParallel wrapper
 * (every key prefixed `module.`) comes back with the prefix removed.
 *
 * @param source - how errors name the bytes, usually the file path.
 * @example
 * const { tensors } = parseStateDict(await fs.readFile('mobilenet_v2-7ebf99e0.pth'), 'mobilenet_v2-7ebf99e0.pth');
 */
export function parseStateDict(bytes: Uint8Array, source = 'the weights bytes'): SafetensorsFile {
  const file = isTorchFile(bytes) ? parseTorchFile(bytes, source) : parseSafetensors(bytes, source);
  return withoutWrapperPrefix(file);
}

const WRAPPER_PREFIX = 'module.';

// nn.DataParallel and DistributedDataParallel hold the model as `.module`, so a state_dict saved
// from the wrapper (common in training scripts) has every key prefixed 'module.'. PyTorch's
// load_state_dict would report every key missing; the usual fix in Python is to strip the prefix,
// so we do it here, and only when every key carries it (a lone 'module.x' key is left alone).
function withoutWrapperPrefix(file: SafetensorsFile): SafetensorsFile {
  const keys = [...file.tensors.keys()];
  if (keys.length === 0 || !keys.every((k) => k.startsWith(WRAPPER_PREFIX))) return file;
  const tensors = new Map([...file.tensors].map(([k, v]) => [k.slice(WRAPPER_PREFIX.length), v]));
  return { ...file, tensors };
}
