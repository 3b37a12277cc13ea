import { InputError } from '../errors.js';

/** One entry of a zip archive: its bytes are a view into the archive (stored entries only). */
export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

/** Starts with a zip local file header ("PK\x03\x04"), as torch.save's zip files do. */
export const isZip = (bytes: Uint8Array): boolean =>
  bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;

/**
 * Lists the entries of a zip archive whose entries are stored (not compressed), as torch.save
 * writes them (PyTorch's writer stores every record uncompressed, 64-byte aligned, so tensors can
 * be memory-mapped). Reads the central directory (zip64 included, which torch always writes) and
 * checks every offset and size against the archive's length before taking a view, so a
 * truncated or corrupt archive is a one-line {@link InputError} naming `source`. Compressed
 * entries are refused rather than inflated: no .pth writer produces them, and refusing keeps
 * this reader a few dozen lines that never allocate more than the file.
 *
 * Written here rather than taken from a zip library because reading stored entries is only
 * bounds-checked offset arithmetic, and this file must parse from a Uint8Array in browsers too.
 *
 * @example
 * const entries = readStoredZip(bytes, 'mobilenet_v2.pth');
 * const pickle = entries.get('archive/data.pkl');
 */
export function readStoredZip(bytes: Uint8Array, source: string): Map<string, ZipEntry> {
  const fail = (what: string): never => {
    throw new InputError(`${source}: ${what}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const value = view.getBigUint64(at, true);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);
  };

  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let at = bytes.byteLength - 22; at >= Math.max(0, bytes.byteLength - 22 - 0xffff); at--) {
    if (u32(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('truncated or corrupt zip archive: no end-of-central-directory record');
  let count = u16(eocd + 10);
  let dirSize = u32(eocd + 12);
  let dirOffset = u32(eocd + 16);
  if (eocd >= 20 && u32(eocd - 20) === EOCD64_LOCATOR) {
    const at = u64(eocd - 20 + 8);
    if (!(at + 56 <= bytes.byteLength) || u32(at) !== EOCD64) fail('corrupt zip archive: bad zip64 end-of-central-directory record');
    count = u64(at + 32);
    dirSize = u64(at + 40);
    dirOffset = u64(at + 48);
  }
  if (!(dirOffset + dirSize <= bytes.byteLength)) fail('truncated zip archive: the central directory lies past the end of the file');
  // Each central entry takes at least 46 bytes, which bounds the count a corrupt file can claim.
  if (count * 46 > dirSize) fail(`corrupt zip archive: ${count} entries cannot fit in a ${dirSize}-byte central directory`);

  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > dirOffset + dirSize || u32(at) !== CENTRAL) fail(`corrupt zip archive: central directory entry ${i} is malformed`);
    const method = u16(at + 10);
    let compressed = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let localOffset = u32(at + 42);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > dirOffset + dirSize) fail(`corrupt zip archive: central directory entry ${i} overruns the directory`);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // zip64 extra field: the 64-bit values of whichever 32-bit fields are saturated, in order.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength;) {
      const id = u16(e);
      const length = u16(e + 2);
      if (id === 0x0001) {
        let p = e + 4;
        const take = () => {
          if (p + 8 > e + 4 + length) fail(`corrupt zip archive: short zip64 field of '${name}'`);
          const value = u64(p);
          p += 8;
          return value;
        };
        if (size === U32_MAX) size = take();
        if (compressed === U32_MAX) compressed = take();
        if (localOffset === U32_MAX) localOffset = take();
      }
      e += 4 + length;
    }
    if (method !== 0) fail(`'${name}' is compressed (zip method ${method}); torch.save writes stored entries, so re-save the file with torch.save`);
    if (compressed !== size) fail(`corrupt zip archive: stored entry '${name}' has different compressed and uncompressed sizes`);
    if (!(localOffset + 30 <= bytes.byteLength) || u32(localOffset) !== LOCAL) fail(`truncated or corrupt zip archive: no local header for '${name}'`);
    const start = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28);
    if (!(start + size <= bytes.byteLength)) fail(`truncated zip archive: '${name}' needs ${size} bytes at offset ${start} but the file has ${bytes.byteLength}`);
    entries.set(name, { name, data: bytes.subarray(start, start + size) });
    at = next;
  }
  return entries;
}
