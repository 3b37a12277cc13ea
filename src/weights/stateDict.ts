import { parseSafetensors, type SafetensorsFile } from './safetensors.js';
import { isTorchFile, parseTorchFile } from './torchFile.js';

/**
 * Parses a state_dict from its bytes, telling the format by content, not by file name: a
 * torch.save file (zip or legacy, see {@link parseTorchFile}) or safetensors (see
 * {@link parseSafetensors}). Either way the result maps state_dict keys to dtype, shape and
 * little-endian bytes.
 *
 * @param source - how errors name the bytes, usually the file path.
 * @example
 * const { tensors } = parseStateDict(await fs.readFile('mobilenet_v2-7ebf99e0.pth'), 'mobilenet_v2-7ebf99e0.pth');
 */
export function parseStateDict(bytes: Uint8Array, source = 'the weights bytes'): SafetensorsFile {
  return isTorchFile(bytes) ? parseTorchFile(bytes, source) : parseSafetensors(bytes, source);
}
