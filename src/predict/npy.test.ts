import { describe, expect, it } from 'vitest';
import { encodeNpy } from './npy.js';

// numpy.load reading these files is checked in test/pretrained.test.ts; here, the format's rules.
describe('encodeNpy', () => {
  it('writes NPY 1.0: magic, a 64-byte aligned header ending in a newline, little-endian float32', () => {
    const bytes = encodeNpy(new Float32Array([1.5, -2, 3, 0.25, 5, 6]), [2, 3]);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLength = bytes[8] | (bytes[9] << 8);
    expect((10 + headerLength) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
    expect(header.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    expect(header.endsWith('\n')).toBe(true);
    const data = new DataView(bytes.buffer, 10 + headerLength);
    expect([0, 1, 5].map((i) => data.getFloat32(4 * i, true))).toEqual([1.5, -2, 6]);
    expect(bytes.byteLength).toBe(10 + headerLength + 24);
    expect(new TextDecoder().decode(encodeNpy(new Float32Array(4), [4]).subarray(10, 70))).toContain("'shape': (4,)");
  });
});
