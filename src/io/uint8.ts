import { InputError, received } from '../errors.js';

/** One tensor in TF.js's affine uint8 format: value ≈ q · scale + min. */
export interface AffineUint8 {
  data: Uint8Array;
  scale: number;
  min: number;
}

const QUANT_MAX = 255;

/**
 * Affine per-tensor uint8 quantization, as tfjs-converter's `--quantize_uint8` does it
 * (tensorflowjs/quantization.py): the [min, max] range is cut into 255 steps; when it covers
 * 0 it is first shifted by less than half a step so that 0 is one of the levels (as TF Lite's
 * nudging does; zero padding and ReLU zeros then stay exact); values are clipped to the shifted
 * range and rounded to the nearest level, ties to even (numpy's `np.round`). A constant tensor
 * is all zeros with scale 1 and min equal to the constant, so it stays exact. Arithmetic is in
 * float64, and the manifest keeps scale and min as float64, which is what TF.js's decoder reads.
 *
 * @throws InputError naming `name` for a NaN or infinite value.
 */
export function quantizeUint8(values: Float32Array, name: string): AffineUint8 {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new InputError(`weight '${name}' holds ${received(v)} at index ${i}; only finite weights can be quantized`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const data = new Uint8Array(values.length);
  if (values.length === 0) return { data, scale: 1, min: 0 };
  if (lo === hi) return { data, scale: 1, min: lo };
  const scale = (hi - lo) / QUANT_MAX;
  let min = lo;
  let max = hi;
  if (lo <= 0 && hi >= 0) {
    min = -roundHalfEven(-lo / scale) * scale;
    max = QUANT_MAX * scale + min;
  }
  for (let i = 0; i < values.length; i++) {
    const clipped = Math.min(max, Math.max(min, values[i]));
    // The clip keeps the level in [0, 255] up to rounding; the bound makes that certain.
    data[i] = Math.min(QUANT_MAX, Math.max(0, roundHalfEven((clipped - min) / scale)));
  }
  return { data, scale, min };
}

/** Round to nearest, ties to even: numpy's `np.round`, where JavaScript's Math.round rounds ties up. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
