// PIL keeps 8-bit resampling in fixed point with this many fractional bits (32 - 8 - 2).
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;

/** Per output index along one axis: first input index and fixed-point tap weights. */
function axisWeights(inSize: number, outSize: number): { first: Int32Array; taps: number; weights: Float64Array } {
  const scale = inSize / outSize;
  // Antialiasing: when shrinking, the triangle filter widens with the scale.
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let sum = 0;
    const k = new Float64Array(taps);
    for (let x = 0; x < hi - lo; x++) {
      k[x] = Math.max(0, 1 - Math.abs((x + lo - center + 0.5) / filterScale));
      sum += k[x];
    }
    first[i] = lo;
    for (let x = 0; x < hi - lo; x++) {
      const w = sum ? k[x] / sum : 0;
      // PIL rounds each normalized weight to fixed point half away from zero.
      weights[i * taps + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
  }
  return { first, taps, weights };
}

const clip8 = (acc: number) => {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/**
 * Resizes interleaved uint8 pixels (HWC) to `outWidth` × `outHeight` exactly as Pillow's
 * `Image.resize(size, BILINEAR)` does, which is what torchvision's `Resize` runs on PIL images:
 * a triangle filter over pixel centers, widened by the scale when shrinking (antialiasing),
 * fixed-point weights, the horizontal pass first and uint8 rounding between the passes.
 * Pure TypeScript, so browsers get the same pixels.
 *
 * @example
 * const out = resampleBilinear(rgb, 300, 200, 3, 348, 232);
 */
export function resampleBilinear(
  pixels: Uint8Array, width: number, height: number, channels: number, outWidth: number, outHeight: number,
): Uint8Array {
  let src = pixels;
  let w = width;
  if (outWidth !== width) {
    const { first, taps, weights } = axisWeights(width, outWidth);
    const out = new Uint8Array(outWidth * height * channels);
    for (let y = 0; y < height; y++) {
      for (let i = 0; i < outWidth; i++) {
        for (let c = 0; c < channels; c++) {
          let acc = ONE / 2;
          for (let t = 0; t < taps; t++) {
            const wt = weights[i * taps + t];
            if (wt !== 0) acc += wt * src[(y * w + first[i] + t) * channels + c];
          }
          out[(y * outWidth + i) * channels + c] = clip8(acc);
        }
      }
    }
    src = out;
    w = outWidth;
  }
  if (outHeight !== height) {
    const { first, taps, weights } = axisWeights(height, outHeight);
    const out = new Uint8Array(w * outHeight * channels);
    const row = w * channels;
    for (let j = 0; j < outHeight; j++) {
      for (let x = 0; x < row; x++) {
        let acc = ONE / 2;
        for (let t = 0; t < taps; t++) {
          const wt = weights[j * taps + t];
          if (wt !== 0) acc += wt * src[(first[j] + t) * row + x];
        }
        out[j * row + x] = clip8(acc);
      }
    }
    src = out;
  }
  return src === pixels ? pixels.slice() : src;
}
