import { InputError } from '../errors.js';
import { readBytes, writeBytes } from '../io/bytes.js';
import { failureCode } from '../io/fetchBytes.js';

/**
 * safetensors element types and their sizes in bytes. All of them are recognized, so that
 * offsets can be validated; {@link decodeTensor} reads the float types (upcast to float32) and
 * the integer types that state_dicts hold.
 */
const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** One tensor of a parsed file; `data` is a view into the file's bytes (little-endian). */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

export interface SafetensorsFile {
  /** Tensors in file order. */
  tensors: Map<string, SafetensorsEntry>;
  /** The optional `__metadata__` string map. */
  metadata: Record<string, string>;
}

/** A tensor to write: typed data, or raw little-endian bytes for any dtype. */
export interface SafetensorsInput {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

// A guard against a header that claims gigabytes of JSON; real headers are kilobytes.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

const fmtShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Parses safetensors bytes: a u64 little-endian header length, a JSON header
 * `{key: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`, then the data.
 * Validates strictly, so that a junk or truncated file gives a one-line {@link InputError} that
 * names `source` (and the key), never a RangeError deep inside.
 *
 * @param source - how errors name the bytes, usually the file path.
 * @example
 * const { tensors } = parseSafetensors(await fs.readFile('model.safetensors'), 'model.safetensors');
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors bytes'): SafetensorsFile {
  const fail = (what: string): never => {
    throw new InputError(`${source}: ${what}`);
  };
  // torch.save writes a zip archive ("PK") or, before 1.6, a raw pickle (0x80, protocol): a common
  // mix-up worth naming. Checked only once parsing fails, as a valid header length can start so too.
  const notSafetensors = (what: string): never => {
    if ((bytes[0] === 0x50 && bytes[1] === 0x4b) || (bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5)) {
      fail('not a safetensors file: it looks like a torch.save() .pt/.pth file (a zip archive or a pickle); read it with loadTorchWeights() or parseStateDict(), which take both formats');
    }
    return fail(what);
  };
  if (bytes.byteLength < 8) fail(`not a safetensors file: ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.byteLength - 8) || headerLength > BigInt(MAX_HEADER_BYTES)) {
    notSafetensors(`not a safetensors file or truncated: the header claims ${headerLength} bytes but the file has ${bytes.byteLength - 8} after the length`);
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    notSafetensors('not a safetensors file: the header is not valid UTF-8 JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail('not a safetensors file: the header is not a JSON object');
  }

  const body = bytes.subarray(8 + n);
  const tensors = new Map<string, SafetensorsEntry>();
  const spans: [number, number, string][] = [];
  let metadata: Record<string, string> = {};
  for (const [key, info] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      const ok = info !== null && typeof info === 'object' && !Array.isArray(info) && Object.values(info).every((v) => typeof v === 'string');
      if (!ok) fail('__metadata__ must be a map of strings');
      metadata = info as Record<string, string>;
      continue;
    }
    const at = (what: string): never => fail(`tensor '${key}': ${what}`);
    if (info === null || typeof info !== 'object') at('expected {dtype, shape, data_offsets}');
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
      at(`unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every(isIndex)) at(`shape must be an array of integers >= 0; received ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      at(`data_offsets must be [begin, end]; received ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    const elements = (shape as number[]).reduce((a, d) => a * d, 1);
    const expected = elements * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (end < begin || end > body.byteLength) {
      at(`data_offsets [${begin}, ${end}] lie outside the ${body.byteLength} data bytes (truncated file?)`);
    }
    if (end - begin !== expected) {
      at(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${fmtShape(shape as number[])} needs ${expected}`);
    }
    spans.push([begin, end, key]);
    tensors.set(key, { dtype: dtype as SafetensorsDtype, shape: shape as number[], data: body.subarray(begin, end) });
  }
  // Empty tensors occupy no bytes and may share an offset with anything.
  const nonEmpty = spans.filter(([begin, end]) => end > begin).sort((a, b) => a[0] - b[0]);
  let reach: [number, string] = [0, ''];
  for (const [begin, end, key] of nonEmpty) {
    if (begin < reach[0]) fail(`tensors '${reach[1]}' and '${key}' overlap`);
    reach = [end, key];
  }
  return { tensors, metadata };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** IEEE half → float. Covers subnormals, infinities and NaN. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * The values of one entry: float dtypes (F64, F32, F16, BF16) as a Float32Array, I32 as an
 * Int32Array, I64 as a BigInt64Array. Other dtypes are an {@link InputError} naming `key`.
 *
 * @example
 * const gamma = decodeTensor(tensors.get('features.0.1.weight')!, 'features.0.1.weight', file);
 */
export function decodeTensor(entry: SafetensorsEntry, key: string, source = 'safetensors bytes'): Float32Array | Int32Array | BigInt64Array {
  const { dtype, data } = entry;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = data.byteLength / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'F32': {
      // Copy into a fresh, aligned buffer (a Node Buffer's slice() would share memory).
      if (LITTLE_ENDIAN) return new Float32Array(new Uint8Array(data).buffer);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case 'I64': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getBigInt64(8 * i, true);
      return out;
    }
    default:
      throw new InputError(`${source}: tensor '${key}' has dtype ${dtype}; supported: F32, F16, BF16, F64, I64, I32`);
  }
}

/**
 * The values of a float entry (F32, F16, BF16, F64) as a Float32Array; any other dtype is an
 * {@link InputError} naming the source and key.
 *
 * @example
 * const w = decodeFloat32(tensors.get('classifier.1.weight')!, 'classifier.1.weight', file);
 */
export function decodeFloat32(entry: SafetensorsEntry, key: string, source = 'safetensors bytes'): Float32Array {
  if (entry.dtype !== 'F32' && entry.dtype !== 'F16' && entry.dtype !== 'BF16' && entry.dtype !== 'F64') {
    throw new InputError(`${source}: tensor '${key}' has dtype ${entry.dtype}; expected a float dtype (F32, F16, BF16, F64)`);
  }
  return decodeTensor(entry, key, source) as Float32Array;
}

function toLittleEndianBytes(input: SafetensorsInput, key: string): Uint8Array {
  const { dtype, data } = input;
  const elements = input.shape.reduce((a, d) => a * d, 1);
  const expected = elements * DTYPE_BYTES[dtype];
  const wrong = (what: string): never => {
    throw new InputError(`safetensors tensor '${key}': ${what}`);
  };
  if (data instanceof Uint8Array) {
    if (data.byteLength !== expected) wrong(`${data.byteLength} raw bytes but ${dtype} ${fmtShape(input.shape)} needs ${expected}`);
    return data;
  }
  const kind = data instanceof Float32Array ? 'F32' : data instanceof Int32Array ? 'I32' : 'I64';
  if (kind !== dtype) wrong(`a ${data.constructor.name} cannot be written as ${dtype}; pass raw bytes for that`);
  if (data.length !== elements) wrong(`${data.length} values but shape ${fmtShape(input.shape)} has ${elements}`);
  const out = new Uint8Array(expected);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(4 * i, data[i], true);
    else if (data instanceof Int32Array) view.setInt32(4 * i, data[i], true);
    else view.setBigInt64(8 * i, data[i], true);
  }
  return out;
}

/**
 * Serializes tensors (in insertion order) and optional string metadata to safetensors bytes. The
 * header is padded with spaces to a multiple of 8 bytes, as the reference implementation does.
 *
 * @example
 * const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
 */
export function encodeSafetensors(tensors: Record<string, SafetensorsInput>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [key, input] of Object.entries(tensors)) {
    if (key === '__metadata__') throw new InputError(`safetensors tensor key '__metadata__' is reserved`);
    const blob = toLittleEndianBytes(input, key);
    header[key] = { dtype: input.dtype, shape: [...input.shape], data_offsets: [offset, offset + blob.byteLength] };
    blobs.push(blob);
    offset += blob.byteLength;
  }
  let json = JSON.stringify(header);
  const headerBytes = () => new TextEncoder().encode(json);
  json += ' '.repeat((8 - (headerBytes().byteLength % 8)) % 8);
  const encoded = headerBytes();
  const out = new Uint8Array(8 + encoded.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(encoded.byteLength), true);
  out.set(encoded, 8);
  let at = 8 + encoded.byteLength;
  for (const blob of blobs) {
    out.set(blob, at);
    at += blob.byteLength;
  }
  return out;
}

/**
 * Reads and parses a safetensors file from a path or an http(s) URL (in a page: any URL,
 * relative ones included); an unreadable source is an {@link InputError} naming it.
 *
 * @example
 * const { tensors, metadata } = await readSafetensors('mobilenet_v2.safetensors');
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(path);
  } catch (err) {
    throw new InputError(`${path}: cannot read the weights file (${failureCode(err)})`);
  }
  return parseSafetensors(bytes, path);
}

/**
 * Writes a safetensors file atomically: to a temporary file beside `path`, synced, then renamed,
 * so that a crash leaves either the old file or the complete new one.
 *
 * @example
 * await writeSafetensors('w.safetensors', { w: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } });
 */
export async function writeSafetensors(path: string, tensors: Record<string, SafetensorsInput>, metadata?: Record<string, string>): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  try {
    await writeBytes(path, bytes);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${path}: cannot write the weights file (${failureCode(err)})`);
  }
}
