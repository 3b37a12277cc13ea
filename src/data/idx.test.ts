import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { parseIdx, readIdx } from './idx.js';

/** Builds IDX bytes by hand from the format's definition, independently of the reader. */
function idx(dims: number[], body: number[], dtype = 0x08): Uint8Array {
  const header = [0, 0, dtype, dims.length, ...dims.flatMap((d) => [(d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255])];
  return Uint8Array.from([...header, ...body]);
}

const fails = (bytes: Uint8Array, pattern: RegExp) => {
  expect(() => parseIdx(bytes, 'f.idx')).toThrow(InputError);
  expect(() => parseIdx(bytes, 'f.idx')).toThrow(pattern);
  try {
    parseIdx(bytes, 'f.idx');
  } catch (error) {
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message.startsWith('f.idx: ')).toBe(true);
  }
};

describe('parseIdx', () => {
  it('reads dimensions and values, plain and gzipped', () => {
    const bytes = idx([2, 3], [1, 2, 3, 4, 5, 6]);
    for (const input of [bytes, gzipSync(bytes)]) {
      const { dims, data } = parseIdx(input, 'f');
      expect(dims).toEqual([2, 3]);
      expect(Array.from(data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('reads dimensions above 2^16 as big-endian', () => {
    expect(parseIdx(idx([70000], new Array(70000).fill(7)), 'f').dims).toEqual([70000]);
  });

  it('rejects a bad magic number, dtype, dimension count or empty dimension', () => {
    fails(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 1, 5]), /expected magic 0x00 0x00 <dtype> <ndim>; received 0x01 0x00 0x08 0x01/);
    fails(idx([1], [0, 0, 0, 0], 0x0d), /dtype must be 0x08 \(unsigned byte\); received 0x0d \(float32\)/);
    fails(idx([1], [0], 0x42), /received 0x42 \(unknown\)/);
    fails(Uint8Array.from([0, 0, 8, 0]), /dimension count must be 1 to 4; received 0/);
    fails(idx([2, 0], []), /dimensions must be non-zero; received \[2, 0\]/);
    fails(Uint8Array.from([0, 0]), /expected a 4-byte magic number; received 2 bytes/);
  });

  it('rejects a file whose size does not match its header', () => {
    fails(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2]), /truncated IDX header; expected 16 bytes/);
    fails(idx([2, 3], [1, 2, 3, 4, 5]), /size does not match its header \[2, 3\]; expected 18 bytes; received 17/);
    fails(idx([2, 3], [1, 2, 3, 4, 5, 6, 7]), /expected 18 bytes; received 19/);
  });

  it('rejects corrupt gzip', () => {
    const gz = gzipSync(idx([1], [1]));
    fails(gz.subarray(0, gz.length - 6), /not a valid gzip file/);
  });
});

describe('readIdx', () => {
  it('names the file it cannot read', async () => {
    const missing = path.join(os.tmpdir(), 'no-such-dir-mnv2', 'x-idx1-ubyte');
    await expect(readIdx(missing)).rejects.toThrow(`${missing}: cannot read the IDX file (ENOENT)`);
  });

  it('reads a file from disk', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'idx-'));
    const file = path.join(dir, 'a.gz');
    await fs.writeFile(file, gzipSync(idx([3], [0, 9, 4])));
    expect(Array.from((await readIdx(file)).data)).toEqual([0, 9, 4]);
    await fs.rm(dir, { recursive: true });
  });
});
