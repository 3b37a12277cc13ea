import { promises as fs } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../errors.js';

/** An IDX array of unsigned bytes: its dimensions and its values in row-major order. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

// The third magic byte is the element type. MNIST only uses 0x08, but naming the others makes
// the error useful when someone passes, say, a float32 IDX file.
const DTYPES: Record<number, string> = {
  0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64',
};
const UBYTE = 0x08;
const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

/**
 * Parses IDX bytes (LeCun's MNIST format), plain or gzip-compressed, strictly: the magic number
 * (two zero bytes, then dtype 0x08 and 1 to 4 dimensions), non-zero dimensions, and a byte
 * count that matches the header exactly. Every failure is a one-line {@link InputError} that
 * starts with `name`.
 *
 * @example
 * const { dims, data } = parseIdx(await fs.readFile(file), file); // dims: [60000, 28, 28]
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new InputError(`${name}: not a valid gzip file (${(error as Error).message})`);
    }
  }
  if (bytes.length < 4) {
    throw new InputError(`${name}: not an IDX file; expected a 4-byte magic number; received ${bytes.length} bytes`);
  }
  const [zero0, zero1, dtype, ndim] = bytes;
  if (zero0 !== 0 || zero1 !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), hex).join(' ');
    throw new InputError(`${name}: not an IDX file; expected magic 0x00 0x00 <dtype> <ndim>; received ${magic}`);
  }
  if (dtype !== UBYTE) {
    const what = DTYPES[dtype] ? `${hex(dtype)} (${DTYPES[dtype]})` : `${hex(dtype)} (unknown)`;
    throw new InputError(`${name}: IDX dtype must be 0x08 (unsigned byte); received ${what}`);
  }
  if (ndim < 1 || ndim > 4) {
    throw new InputError(`${name}: IDX dimension count must be 1 to 4; received ${ndim}`);
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new InputError(`${name}: truncated IDX header; expected ${headerBytes} bytes for ${ndim} dimensions; received ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false /* big-endian */));
  if (dims.some((d) => d === 0)) {
    throw new InputError(`${name}: IDX dimensions must be non-zero; received [${dims.join(', ')}]`);
  }
  const expected = headerBytes + dims.reduce((a, d) => a * d, 1);
  if (bytes.length !== expected) {
    throw new InputError(
      `${name}: IDX file size does not match its header [${dims.join(', ')}]; expected ${expected} bytes; received ${bytes.length}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/**
 * Reads an IDX file (plain or `.gz`, detected from its content) with {@link parseIdx}.
 *
 * @example
 * const labels = await readIdx('data/train-labels-idx1-ubyte.gz'); // labels.dims: [60000]
 */
export async function readIdx(file: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new InputError(`${file}: cannot read the IDX file (${code})`);
  }
  return parseIdx(bytes, file);
}
