import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { itWithTorch, PYTHON } from '../../test/fixtures/torch.js';
import { InputError } from '../errors.js';
import { seededRandom } from '../training/random.js';
import { tf } from '../tf.js';
import { encodeFloat16, float16Bits, FLOAT16_MAX } from './float16.js';

/** Every half bit pattern decoded by TF.js's own float16 decoder (the one `loadLayersModel` uses). */
function stockDecodeAllHalves(): Float32Array {
  const bits = new Uint16Array(65536).map((_, i) => i);
  const spec: tf.io.WeightsManifestEntry = { name: 'all', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } };
  const tensor = tf.io.decodeWeights(bits.buffer, [spec]).all;
  const values = tensor.dataSync() as Float32Array;
  tensor.dispose();
  return values;
}

/** Hard cases for rounding: midpoints between neighbouring halves, one float32 ulp either side, the subnormal and overflow edges, and random bit patterns. */
function trickyFloats(): Float32Array {
  const decoded = stockDecodeAllHalves();
  const out: number[] = [];
  const nudge = (x: number, ulps: number) => {
    const f = new Float32Array([x]);
    const u = new Int32Array(f.buffer);
    u[0] += ulps;
    return f[0];
  };
  for (let h = 0; h < 0x7bff; h += 7) {
    // Neighbouring halves have 11-bit significands, so their midpoint is exact in float32.
    const mid = Math.fround((decoded[h] + decoded[h + 1]) / 2);
    out.push(mid, nudge(mid, 1), nudge(mid, -1), -mid);
  }
  out.push(2 ** -25, nudge(2 ** -25, 1), nudge(2 ** -25, -1), 2 ** -24, 3 * 2 ** -25, 2 ** -26, 2 ** -14, nudge(2 ** -14, -1));
  out.push(FLOAT16_MAX, 65519, nudge(65520, -1), 0, -0, 1e-30, -1e-30);
  const random = seededRandom(5);
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  while (out.length < 60000) {
    bits[0] = Math.floor(random() * 2 ** 32);
    if (Number.isFinite(f[0]) && Math.abs(f[0]) < 65519) out.push(f[0]);
  }
  return new Float32Array(out);
}

describe('float16Bits', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('maps every finite half, decoded by TF.js, back to its own bits (subnormals and ±0 included)', () => {
    const decoded = stockDecodeAllHalves();
    for (let h = 0; h < 65536; h++) {
      const exponent = (h >> 10) & 0x1f;
      if (exponent === 0x1f && (h & 0x3ff) !== 0) {
        expect(float16Bits(decoded[h]) & 0x7fff, `NaN ${h}`).toBeGreaterThan(0x7c00);
        continue;
      }
      if (float16Bits(decoded[h]) !== h) expect(float16Bits(decoded[h]).toString(16), `half 0x${h.toString(16)}`).toBe(h.toString(16));
    }
  });

  itWithTorch('rounds like numpy astype(float16): to nearest, ties to even, with subnormals and overflow', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'f16-'));
    const values = trickyFloats();
    writeFileSync(path.join(dir, 'in.f32'), values);
    const script = 'import sys, numpy as np; a = np.fromfile(sys.argv[1], "<f4"); a.astype(np.float16).view("<u2").tofile(sys.argv[2])';
    const run = spawnSync(PYTHON, ['-c', script, path.join(dir, 'in.f32'), path.join(dir, 'out.f16')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const bytes = readFileSync(path.join(dir, 'out.f16'));
    const expected = new Uint16Array(bytes.buffer, bytes.byteOffset, values.length);
    let mismatches = 0;
    for (let i = 0; i < values.length; i++) {
      if (float16Bits(values[i]) !== expected[i] && mismatches++ < 5) {
        expect(`${values[i]} -> 0x${float16Bits(values[i]).toString(16)}`).toBe(`${values[i]} -> 0x${expected[i].toString(16)}`);
      }
    }
    expect(mismatches).toBe(0);
  });

  it('handles the edges: overflow to Infinity from 65520, underflow to ±0 below 2^-25, NaN', () => {
    expect(float16Bits(65504)).toBe(0x7bff);
    expect(float16Bits(65519.99)).toBe(0x7bff);
    expect(float16Bits(65520)).toBe(0x7c00);
    expect(float16Bits(-1e6)).toBe(0xfc00);
    expect(float16Bits(Infinity)).toBe(0x7c00);
    expect(float16Bits(NaN) & 0x7fff).toBeGreaterThan(0x7c00);
    expect(float16Bits(2 ** -24)).toBe(0x0001);
    expect(float16Bits(2 ** -25)).toBe(0x0000); // a tie, to the even 0
    expect(float16Bits(-(2 ** -25) * 1.0001)).toBe(0x8001);
    expect(float16Bits(-0)).toBe(0x8000);
    expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1 + 2^-10: to the even 1
    expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: to the even 1 + 2^-9
  });
});

describe('encodeFloat16', () => {
  it('refuses values that would become Infinity, and non-finite weights, naming the weight', () => {
    expect(Array.from(encodeFloat16(new Float32Array([1, -2, 65519]), 'w'))).toEqual([0x3c00, 0xc000, 0x7bff]);
    expect(() => encodeFloat16(new Float32Array([0, 70000]), 'dense/kernel')).toThrow(InputError);
    expect(() => encodeFloat16(new Float32Array([0, 70000]), 'dense/kernel')).toThrow(/weight 'dense\/kernel' holds 70000 at index 1, beyond float16's range ±65504/);
    expect(() => encodeFloat16(new Float32Array([NaN]), 'bn/gamma')).toThrow(/weight 'bn\/gamma' holds NaN at index 0; only finite weights/);
  });
});
