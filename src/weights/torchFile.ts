import { InputError } from '../errors.js';
import { unpickle } from './pickle.js';
import type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile } from './safetensors.js';
import { isZip, readStoredZip } from './zip.js';

/** torch.save's storage classes: the only classes a weights file may name, with their element type. */
const STORAGES: Record<string, [SafetensorsDtype, number]> = {
  FloatStorage: ['F32', 4], HalfStorage: ['F16', 2], BFloat16Storage: ['BF16', 2], DoubleStorage: ['F64', 8],
  LongStorage: ['I64', 8], IntStorage: ['I32', 4], ShortStorage: ['I16', 2], CharStorage: ['I8', 1],
  ByteStorage: ['U8', 1], BoolStorage: ['BOOL', 1],
};

// The legacy format's first pickle; PyTorch's serialization.MAGIC_NUMBER.
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

class StorageType {
  constructor(readonly name: string, readonly dtype: SafetensorsDtype, readonly bytesPerElement: number) {}
}

/** A storage as torch.save wrote it; `bytes` arrive with the zip record, or after the pickle (legacy). */
interface Storage {
  key: string;
  type: StorageType;
  numel: number;
  bytes?: Uint8Array;
}

/** A storage reference: legacy files may point into the middle of another storage (a view). */
interface StorageRef {
  storage: Storage;
  offset: number;
}

class TensorRef {
  constructor(readonly ref: StorageRef, readonly offset: number, readonly size: number[], readonly stride: number[]) {}
}

/** The bytes start a torch.save file: a zip archive (torch >= 1.6) or the legacy pickle sequence. */
export function isTorchFile(bytes: Uint8Array): boolean {
  // Legacy files open with PROTO n (2 by default; torch.save's pickle_protocol allows up to 5) and
  // the magic number as LONG1 (0x8a, 10 bytes); protocols >= 4 put a FRAME (0x95, 8-byte length) between.
  if (isZip(bytes) || isTextProtocolLegacy(bytes)) return true;
  if (bytes[0] !== 0x80 || bytes[1] < 2 || bytes[1] > 5) return false;
  const at = bytes[1] >= 4 && bytes[2] === 0x95 ? 11 : 2;
  return bytes[at] === 0x8a && bytes[at + 1] === 0x0a;
}

// Protocols 0 and 1 have no PROTO opcode and write the magic number as a text LONG.
const TEXT_MAGIC = new TextEncoder().encode(`L${LEGACY_MAGIC}L\n`);
const isTextProtocolLegacy = (bytes: Uint8Array): boolean =>
  bytes.byteLength >= TEXT_MAGIC.length && TEXT_MAGIC.every((b, i) => bytes[i] === b);
const TEXT_PROTOCOL = "written with pickle protocol 0 or 1 (torch.save's pickle_protocol), which this reader does not take; re-save it with torch.save's default protocol";

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Parses a PyTorch state_dict written by `torch.save` from its bytes, in either format:
 *
 * - zip (torch >= 1.6): `<prefix>/data.pkl` holds the pickled dict, each storage is the stored
 *   record `<prefix>/data/<key>`, and tensors are `torch._utils._rebuild_tensor_v2(storage,
 *   offset, size, stride, ...)` over persistent ids `('storage', torch.FloatStorage, key, device, numel)`;
 * - legacy (`_use_new_zipfile_serialization=False`, and torchvision's older files): pickles for
 *   the magic number, protocol version, system info, the dict and the storage keys, then each
 *   storage raw (an int64 element count, then the elements).
 *
 * The pickle is read by a data-only unpickler ({@link unpickle}) that knows only
 * `collections.OrderedDict`, the tensor and parameter rebuild functions and the storage classes;
 * any other global is refused with one line naming it. Tensors come back as
 * {@link SafetensorsEntry}s (dtype, shape, little-endian bytes) so the rest of the library reads
 * .pth and safetensors alike. Views (storage offsets, transposed or expanded strides) are copied
 * out contiguously, within a budget of the file's own size. A checkpoint dict that holds its
 * state_dict under `state_dict` or `model` is unwrapped.
 *
 * Browser-safe: bytes in, no file system.
 *
 * @param source - how errors name the bytes, usually the file path.
 * @throws InputError naming `source` and what is wrong: truncated, corrupt, a refused global, a
 *   big-endian file, or no tensors.
 * @example
 * const { tensors } = parseTorchFile(new Uint8Array(await (await fetch(url)).arrayBuffer()), url);
 */
export function parseTorchFile(bytes: Uint8Array, source = 'the .pth bytes'): SafetensorsFile {
  const fail = (what: string): never => {
    throw new InputError(`${source}: ${what}`);
  };
  const storages = new Map<string, Storage>();
  const rebuild = ([ref, offset, size, stride]: unknown[]) => {
    const ok = ref !== null && typeof ref === 'object' && 'storage' in ref && isIndex(offset) &&
      Array.isArray(size) && Array.isArray(stride) && size.length === stride.length && size.every(isIndex) && stride.every(isIndex);
    if (!ok) fail('corrupt pickle: a tensor is not (storage, offset, size, stride)');
    return new TensorRef(ref as StorageRef, offset as number, size as number[], stride as number[]);
  };
  const globals: Record<string, (args: unknown[]) => unknown> = {
    'collections.OrderedDict': () => new Map(),
    'torch._utils._rebuild_tensor_v2': rebuild,
    'torch._utils._rebuild_tensor': rebuild,
    // nn.Parameter wraps its tensor; requires_grad and hooks mean nothing to a state_dict reader.
    'torch._utils._rebuild_parameter': ([data]) => data,
    'torch._utils._rebuild_parameter_with_state': ([data]) => data,
    // Storage classes only tag persistent ids; nothing calls them.
    ...Object.fromEntries(Object.keys(STORAGES).map((name) => [`torch.${name}`, () => fail(`corrupt pickle: torch.${name} called`)])),
  };
  const persistentId = (pid: unknown, legacy: boolean): StorageRef => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) fail(`corrupt pickle: unexpected persistent id ${JSON.stringify(pid)?.slice(0, 60)}`);
    const [, type, key, , numel, view] = pid as unknown[];
    const typeOk = type !== null && typeof type === 'object' && 'qualifiedName' in type;
    const name = typeOk ? (type as { qualifiedName: string }).qualifiedName.replace(/^torch\./, '') : '';
    if (!Object.hasOwn(STORAGES, name) || typeof key !== 'string' || !isIndex(numel)) fail(`corrupt pickle: malformed storage id for key ${String(key)}`);
    const [dtype, size] = STORAGES[name];
    let storage = storages.get(key as string);
    if (!storage) {
      storage = { key: key as string, type: new StorageType(name, dtype, size), numel: numel as number };
      if (!legacy) storage.bytes = zipRecord(key as string, numel as number, size);
      storages.set(key as string, storage);
    } else if (storage.type.dtype !== dtype) {
      fail(`corrupt pickle: storage ${key} is used as both ${storage.type.dtype} and ${dtype}`);
    }
    // Legacy views: (view_key, offset, view_size) into the root storage.
    if (legacy && Array.isArray(view) && view.length === 3 && isIndex(view[1]) && isIndex(view[2])) {
      if (view[1] + view[2] > storage.numel) fail(`corrupt pickle: storage view ${view[0]} lies outside storage ${key}`);
      return { storage, offset: view[1] };
    }
    return { storage, offset: 0 };
  };

  let zipEntries: Map<string, { data: Uint8Array }> | undefined;
  let prefix = '';
  const zipRecord = (key: string, numel: number, elementBytes: number): Uint8Array => {
    const record = zipEntries!.get(`${prefix}/data/${key}`);
    if (!record) return fail(`the zip archive has no record ${prefix}/data/${key} for a tensor's storage (truncated or corrupt file?)`);
    if (record.data.byteLength < numel * elementBytes) fail(`storage ${key} holds ${record.data.byteLength} bytes but ${numel} elements need ${numel * elementBytes}`);
    return record.data;
  };

  let root: unknown;
  let format: 'zip' | 'legacy';
  if (isZip(bytes)) {
    format = 'zip';
    zipEntries = readStoredZip(bytes, source);
    const pickles = [...zipEntries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
    if (pickles.length !== 1) {
      fail(pickles.length === 0 ? 'a zip archive without <name>/data.pkl: not a file written by torch.save' : `${pickles.length} data.pkl records in one archive`);
    }
    prefix = pickles[0].slice(0, -'/data.pkl'.length);
    const order = zipEntries.get(`${prefix}/byteorder`);
    if (order && new TextDecoder().decode(order.data).trim() !== 'little') fail('a big-endian torch.save file; re-save it on a little-endian machine');
    // Pickles of protocol 2 and later open with PROTO (0x80).
    if (zipEntries.get(pickles[0])!.data[0] !== 0x80) fail(TEXT_PROTOCOL);
    root = unpickle(zipEntries.get(pickles[0])!.data, {
      source: `${source} (${pickles[0]})`, globals, persistentLoad: (pid) => persistentId(pid, false),
    }).value;
  } else if (isTextProtocolLegacy(bytes)) {
    return fail(TEXT_PROTOCOL);
  } else if (isTorchFile(bytes)) {
    format = 'legacy';
    const read = (offset: number, persistentLoad?: (pid: unknown) => unknown) => unpickle(bytes, { source, globals, offset, persistentLoad });
    const magic = read(0);
    if (magic.value !== LEGACY_MAGIC) fail('not a torch.save file: wrong magic number');
    const protocol = read(magic.end);
    if (protocol.value !== LEGACY_PROTOCOL) fail(`unsupported torch.save protocol version ${String(protocol.value)}; expected ${LEGACY_PROTOCOL}`);
    const sysInfo = read(protocol.end);
    if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) fail('a big-endian torch.save file; re-save it on a little-endian machine');
    const object = read(sysInfo.end, (pid) => persistentId(pid, true));
    root = object.value;
    const keys = read(object.end);
    if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) fail('corrupt file: the storage key list is not a list of strings');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = keys.end;
    for (const key of keys.value as string[]) {
      const storage = storages.get(key) ?? fail(`corrupt file: storage ${key} is listed but no tensor uses it`);
      if (at + 8 > bytes.byteLength) fail(`truncated file: storage ${key} should start at byte ${at} but the file has ${bytes.byteLength}`);
      const numel = Number(view.getBigInt64(at, true));
      const length = numel * storage.type.bytesPerElement;
      if (numel !== storage.numel) fail(`corrupt file: storage ${key} has ${numel} elements, the pickle says ${storage.numel}`);
      if (at + 8 + length > bytes.byteLength) fail(`truncated file: storage ${key} needs ${length} bytes at byte ${at + 8} but the file has ${bytes.byteLength}`);
      storage.bytes = bytes.subarray(at + 8, at + 8 + length);
      at += 8 + length;
    }
  } else {
    return fail('not a torch.save file (neither a zip archive nor a legacy pickle)');
  }

  let dict = root instanceof Map ? root : fail('the pickled object is not a dict: expected a state_dict of tensors');
  const hasTensor = (m: Map<unknown, unknown>) => [...m.values()].some((v) => v instanceof TensorRef);
  if (!hasTensor(dict)) {
    const inner = ['state_dict', 'model'].map((k) => dict.get(k)).find((v): v is Map<unknown, unknown> => v instanceof Map && hasTensor(v));
    dict = inner ?? fail('no tensors in the pickled dict: expected a state_dict (or a checkpoint with one under "state_dict" or "model")');
  }
  // Views are copied out; the budget keeps a hostile stride-0 expansion from allocating more than the file.
  let budget = bytes.byteLength;
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [key, value] of dict) {
    if (!(value instanceof TensorRef)) continue;
    if (typeof key !== 'string') fail('corrupt pickle: a state_dict key is not a string');
    const { ref: { storage, offset: base }, size, stride } = value;
    const data = storage.bytes ?? fail(`corrupt file: tensor '${key}' uses storage ${storage.key}, which holds no data`);
    const offset = base + value.offset;
    const numel = size.reduce((a, d) => a * d, 1);
    const element = storage.type.bytesPerElement;
    const last = offset + size.reduce((a, d, i) => a + (d - 1) * stride[i], 0);
    if (numel > 0 && last >= storage.numel) fail(`tensor '${key}' reads element ${last} of storage ${storage.key}, which has ${storage.numel}`);
    let contiguous = true;
    for (let i = size.length - 1, expected = 1; i >= 0; expected *= size[i], i--) {
      if (size[i] !== 1 && stride[i] !== expected) contiguous = false;
    }
    let out: Uint8Array;
    if (contiguous || numel === 0) {
      out = data.subarray(offset * element, (offset + numel) * element);
    } else {
      budget -= numel * element;
      if (budget < 0) fail(`tensor '${key}' expands to ${numel * element} bytes, more than the file itself; not a plain state_dict`);
      out = new Uint8Array(numel * element);
      const index = new Array<number>(size.length).fill(0);
      let from = offset;
      for (let n = 0; n < numel; n++) {
        out.set(data.subarray(from * element, (from + 1) * element), n * element);
        for (let d = size.length - 1; d >= 0; d--) {
          from += stride[d];
          if (++index[d] < size[d]) break;
          from -= stride[d] * size[d];
          index[d] = 0;
        }
      }
    }
    tensors.set(key, { dtype: storage.type.dtype, shape: [...size], data: out });
  }
  return { tensors, metadata: { format: `pytorch-${format}` } };
}
