import { InputError, received } from '../errors.js';

/** The largest finite IEEE 754 half: (2 − 2⁻¹⁰) · 2¹⁵. */
export const FLOAT16_MAX = 65504;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The IEEE 754 binary16 bits of one float32 value, rounded to nearest, ties to even (the
 * rounding of numpy's `astype(np.float16)`, which tfjs-converter's float16 quantization uses).
 * Values below half the smallest subnormal (2⁻²⁵) become ±0; finite values from 65520 up
 * round to ±Infinity; NaN stays a (quiet) NaN.
 */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  // Rebias 127 → 15.
  const e = exponent - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: m · 2⁻²⁴ with the implicit leading 1 shifted in.
    if (e < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    return sign | roundShift(full, shift);
  }
  // A carry out of the mantissa moves into the exponent, up to Infinity: that is the right result.
  return sign | ((e << 10) + roundShift(mantissa, 13));
}

/** `bits >> shift` rounded to nearest, ties to even. */
function roundShift(bits: number, shift: number): number {
  const kept = bits >>> shift;
  const rest = bits & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/**
 * Converts float32 values to IEEE halves (see {@link float16Bits}). A value that would become
 * Infinity, or one that is not finite already, is an {@link InputError} naming `name`: a
 * weight stored as ±Infinity computes nothing useful, so the caller should keep it in float32.
 */
export function encodeFloat16(values: Float32Array, name: string): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new InputError(`weight '${name}' holds ${received(v)} at index ${i}; only finite weights can be quantized`);
    const bits = float16Bits(v);
    if ((bits & 0x7c00) === 0x7c00) {
      throw new InputError(`weight '${name}' holds ${v} at index ${i}, beyond float16's range ±${FLOAT16_MAX}; store it in float32 or uint8`);
    }
    out[i] = bits;
  }
  return out;
}
