/* FusedBatchNorm forward and gradient over rows of channels, and the moving-statistics update. */
#include "common.h"

/*
 * Whether the BatchNorm kernels walk their tensors down columns of channels (in tiles of rows,
 * as batch_moments), a few channels' sums or coefficients in registers, rather than streaming
 * rows past them in memory. Measured on MobileNetV2's shapes at 96–224 px: tiles win on
 * tensors of up to 2^21 floats with up to 160 channels, which stay in cache; on larger tensors
 * and wider rows their strided walk defeats the prefetcher (up to 2.8× slower). With fewer
 * than 32 channels the sums tile at every size: streaming, each row would wait for the
 * previous row's stores to the few sums.
 */
static inline int bn_tiles(int R, int C, int sums) {
  return (sums && C < 32) || (C <= 160 && R * C <= (1 << 21));
}

/*
 * y = (x − mean)·(scale·rsqrt(var + eps)) + offset over rows of C channels (FusedBatchNorm with
 * per-channel statistics), in TF.js's order: x − mean first, so that x = mean with an infinite
 * factor gives NaN and otherwise ±inf, as stock does. scale/offset may be 0 (null). Sixteen
 * channels' coefficients stay in registers while the rows stream past.
 */
EXPORT(batch_norm)
void batch_norm(const float *x, const float *mean, const float *var, const float *scale,
                const float *offset, float eps, int R, int C, float *y, float *k) {
  if (k && C > 16 && !bn_tiles(R, C, 0)) {
    /* Large tensors and wide rows stream row by row past the coefficients in `k` (C floats;
       without it, the path below): walking sixteen channels down all rows defeats the
       prefetcher there (measured 2× slower at 16×56×56×144), as in batch_norm_grad. */
    for (int c = 0; c < C; c++) k[c] = (scale ? scale[c] : 1.f) / __builtin_sqrtf(var[c] + eps);
    for (int r = 0; r < R; r++) {
      const float *xr = x + r * C;
      float *yr = y + r * C;
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        const f4 b = offset ? ld(offset + c) : wasm_f32x4_const_splat(0.f);
        st(yr + c, madd(wasm_f32x4_sub(ld(xr + c), ld(mean + c)), ld(k + c), b));
      }
      for (; c < C; c++) yr[c] = (xr[c] - mean[c]) * k[c] + (offset ? offset[c] : 0.f);
    }
    return;
  }
  int c = 0;
  for (; c + 4 <= C; c += 4) {
    /* up to four vectors of channels: m = mean, a = scale·rstd, b = offset */
    const int w = (C - c) >= 16 ? 4 : 1;
    f4 a0, a1 = wasm_f32x4_const_splat(0.f), a2 = a1, a3 = a1, b0, b1 = a1, b2 = a1, b3 = a1;
    f4 m0, m1 = a1, m2 = a1, m3 = a1;
#define COEF(k, m, a, b)                                                                           \
    {                                                                                              \
      const int cc = c + 4 * k;                                                                    \
      m = ld(mean + cc);                                                                           \
      a = wasm_f32x4_div(scale ? ld(scale + cc) : splat(1.f), wasm_f32x4_sqrt(wasm_f32x4_add(ld(var + cc), splat(eps)))); \
      b = offset ? ld(offset + cc) : splat(0.f);                                                   \
    }
    COEF(0, m0, a0, b0);
    if (w == 4) { COEF(1, m1, a1, b1); COEF(2, m2, a2, b2); COEF(3, m3, a3, b3); }
#undef COEF
#define NORM(xv, m, a, b) madd(wasm_f32x4_sub(xv, m), a, b)
    if (w == 4) {
      for (int r = 0; r < R; r++) {
        const float *xr = x + r * C + c;
        float *yr = y + r * C + c;
        st(yr, NORM(ld(xr), m0, a0, b0)); st(yr + 4, NORM(ld(xr + 4), m1, a1, b1));
        st(yr + 8, NORM(ld(xr + 8), m2, a2, b2)); st(yr + 12, NORM(ld(xr + 12), m3, a3, b3));
      }
      c += 12;
    } else {
      for (int r = 0; r < R; r++) st(y + r * C + c, NORM(ld(x + r * C + c), m0, a0, b0));
    }
#undef NORM
  }
  for (; c < C; c++) {
    const float a = (scale ? scale[c] : 1.f) / __builtin_sqrtf(var[c] + eps);
    const float b = offset ? offset[c] : 0.f;
    for (int r = 0; r < R; r++) y[r * C + c] = (x[r * C + c] - mean[c]) * a + b;
  }
}

/* One channel's dmean, dvar and dscale summed term by term, as TF.js computes them. */
__attribute__((noinline)) static void bn_grad_terms(const float *dy, const float *x, float mean, float r, float h,
                                                    float g, int R, int C, float *dmean, float *dvar, float *dscale) {
  float sm = 0.f, sv = 0.f, ss = 0.f;
  for (int row = 0; row < R; row++) {
    const float d = dy[row * C], t = d * g, xm = x[row * C] - mean;
    sm += -r * t;
    sv += (h * xm) * t;
    ss += d * (xm * r);
  }
  *dmean = sm;
  *dvar = sv;
  *dscale = ss;
}

/* sd += Σ dy, sdx += Σ dy·(x − mean), sx += Σ (x − mean) per channel over rows of C. */
static void bn_grad_sums(const float *dy, const float *x, const float *mean, int R, int C, float *sd, float *sdx, float *sx) {
  if (!bn_tiles(R, C, 1)) {
    for (int row = 0; row < R; row++) {
      const float *dr = dy + row * C, *xr = x + row * C;
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        const f4 d = ld(dr + c), xm = wasm_f32x4_sub(ld(xr + c), ld(mean + c));
        st(sd + c, wasm_f32x4_add(ld(sd + c), d));
        st(sdx + c, madd(d, xm, ld(sdx + c)));
        st(sx + c, wasm_f32x4_add(ld(sx + c), xm));
      }
      for (; c < C; c++) {
        const float d = dr[c], xm = xr[c] - mean[c];
        sd[c] += d;
        sdx[c] += d * xm;
        sx[c] += xm;
      }
    }
    return;
  }
  const int T = 128;
  for (int r0 = 0; r0 < R; r0 += T) {
    const int r1 = r0 + T < R ? r0 + T : R;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      const f4 m = ld(mean + c);
      f4 a = wasm_f32x4_const_splat(0.f), b = a, e = a;
      for (int r = r0; r < r1; r++) {
        const f4 d = ld(dy + r * C + c), xm = wasm_f32x4_sub(ld(x + r * C + c), m);
        a = wasm_f32x4_add(a, d);
        b = madd(d, xm, b);
        e = wasm_f32x4_add(e, xm);
      }
      st(sd + c, wasm_f32x4_add(ld(sd + c), a));
      st(sdx + c, wasm_f32x4_add(ld(sdx + c), b));
      st(sx + c, wasm_f32x4_add(ld(sx + c), e));
    }
    for (; c < C; c++) {
      float a = 0.f, b = 0.f, e = 0.f;
      for (int r = r0; r < r1; r++) {
        const float d = dy[r * C + c], xm = x[r * C + c] - mean[c];
        a += d;
        b += d * xm;
        e += xm;
      }
      sd[c] += a;
      sdx[c] += b;
      sx[c] += e;
    }
  }
}

/*
 * Gradient of y = (x − mean)·rsqrt(var + eps)·scale + offset over rows of C channels, for
 * every input at once and in one pass over x and dy (TF.js's stock gradient tiles rsqrt(var)
 * to x's full shape and makes ~10 passes). TF.js computes, per element and then summed,
 *   dx = (dy·r)·g,  dmean = Σ (−r)·(dy·g),  dvar = Σ (h·(x − mean))·(dy·g),
 *   dscale = Σ dy·((x − mean)·r),  doffset = Σ dy,   r = rsqrt(var + eps), h = −0.5·r³;
 * the pass computes dx as dy·(r·g) and sums only Σ dy and Σ dy·(x − mean), scaled per channel
 * after. Besides rounding, that differs
 * only where something is infinite or NaN (e.g. g = 0 against dy = inf), so a channel whose
 * sums or constants are not finite is summed again term by term, as TF.js does.
 * scale (g) may be 0 (null): then it is 1. `k` is scratch of 2·C floats, 3·C with
 * `batchStats`: then mean and var are x's own batch statistics over its R = `count` rows, and
 * dx, written in a second pass, includes their gradient (see the end).
 * Outputs: dx [R,C]; dmean, dvar, dscale, doffset [C].
 */
EXPORT(batch_norm_grad)
void batch_norm_grad(const float *dy, const float *x, const float *mean, const float *var,
                     const float *scale, float eps, int R, int C, float *dx, float *dmean,
                     float *dvar, float *dscale, float *doffset, float *k, int batchStats,
                     float count) {
  float *rs = k, *hs = k + C, *sxm = k + 2 * C;
  for (int c = 0; c < C; c++) {
    const float r = 1.f / __builtin_sqrtf(var[c] + eps);
    rs[c] = r;
    hs[c] = ((r * r) * r) * -0.5f;
    dvar[c] = r * (scale ? scale[c] : 1.f); /* for dx = dy·(r·g) until the end */
    doffset[c] = dscale[c] = 0.f;
    if (batchStats) sxm[c] = 0.f; /* (the third C floats of scratch exist only then) */
  }
  /* doffset accumulates Σ dy, dscale Σ dy·(x − mean) and (batch statistics) sxm Σ (x − mean). */
  if (batchStats) {
    bn_grad_sums(dy, x, mean, R, C, doffset, dscale, sxm);
  } else {
    for (int row = 0; row < R; row++) {
      const float *dr = dy + row * C, *xr = x + row * C;
      float *o = dx + row * C;
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        const f4 d = ld(dr + c);
        st(o + c, wasm_f32x4_mul(d, ld(dvar + c)));
        st(doffset + c, wasm_f32x4_add(ld(doffset + c), d));
        st(dscale + c, madd(d, wasm_f32x4_sub(ld(xr + c), ld(mean + c)), ld(dscale + c)));
      }
      for (; c < C; c++) {
        const float d = dr[c];
        o[c] = d * dvar[c];
        doffset[c] += d;
        dscale[c] += d * (xr[c] - mean[c]);
      }
    }
  }
  for (int c = 0; c < C; c++) {
    const float r = rs[c], h = hs[c], g = scale ? scale[c] : 1.f, sum = doffset[c], sdx = dscale[c];
    /* One test for all five: a sum of finite values that overflows only sends the channel the
       slow, exact way. (Five separate tests made clang reserve a shadow-stack frame.) */
    if (is_finite(r + h + g + sum + sdx)) {
      dmean[c] = (-r * g) * sum;
      dvar[c] = (h * g) * sdx;
      dscale[c] = r * sdx;
      continue;
    }
    bn_grad_terms(dy + c, x + c, mean[c], r, h, g, R, C, dmean + c, dvar + c, dscale + c);
  }
  if (!batchStats) return;
  /*
   * mean and var are x's own batch statistics (training mode), so x also reaches y through
   * them. As TF.js differentiates moments(): the variance's Mean, Square and Sub give
   * (dvar/count)·((x − mean)·2) to x and minus its sum to the mean, whose Mean gives
   * (dmean + that)/count back to every element:
   *   dx = (dy·(r·g) + (dvar/count)·((x − mean)·2)) + (dmean − Σ (dvar/count)·((x − mean)·2))/count.
   * The sum would be 0 if the mean were exact; with the float32 mean it is what corrects for
   * that mean's rounding, which matters when a channel's values are close together (two rows,
   * eps ≪ var: leaving it out doubled the error against float64), so it is kept, as
   * (dvar/count)·2·Σ (x − mean) from the first pass. Where dvar or Σ (x − mean) is not finite it
   * is summed term by term, for TF.js's NaN. A second pass, because every element needs its
   * channel's sums.
   */
  float *a = rs, *b = hs, *kd = sxm;
  for (int c = 0; c < C; c++) {
    a[c] = rs[c] * (scale ? scale[c] : 1.f);
    const float v = dvar[c] / count;
    float t = v * (sxm[c] * 2.f);
    if (!is_finite(t)) {
      t = 0.f;
      for (int row = 0; row < R; row++) t += v * ((x[row * C + c] - mean[c]) * 2.f);
    }
    b[c] = (dmean[c] + -t) / count;
    kd[c] = v;
  }
  const f4 two = splat(2.f);
  if (!bn_tiles(R, C, 0)) {
    /* First row to last (backwards, measured 2× slower on tensors beyond the cache). */
    for (int row = 0; row < R; row++) {
      const float *dr = dy + row * C, *xr = x + row * C;
      float *o = dx + row * C;
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        const f4 dxc = wasm_f32x4_mul(ld(dr + c), ld(a + c));
        const f4 dxm = wasm_f32x4_mul(ld(kd + c), wasm_f32x4_mul(wasm_f32x4_sub(ld(xr + c), ld(mean + c)), two));
        st(o + c, wasm_f32x4_add(wasm_f32x4_add(dxc, dxm), ld(b + c)));
      }
      for (; c < C; c++) o[c] = (dr[c] * a[c] + kd[c] * ((xr[c] - mean[c]) * 2.f)) + b[c];
    }
    return;
  }
  const int T = 128;
  for (int r0 = 0; r0 < R; r0 += T) {
    const int r1 = r0 + T < R ? r0 + T : R;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      const f4 av = ld(a + c), kv = ld(kd + c), bv = ld(b + c), mv = ld(mean + c);
      for (int row = r0; row < r1; row++) {
        const int i = row * C + c;
        const f4 dxm = wasm_f32x4_mul(kv, wasm_f32x4_mul(wasm_f32x4_sub(ld(x + i), mv), two));
        st(dx + i, wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(ld(dy + i), av), dxm), bv));
      }
    }
    for (; c < C; c++)
      for (int row = r0; row < r1; row++) {
        const int i = row * C + c;
        dx[i] = (dy[i] * a[c] + kd[c] * ((x[i] - mean[c]) * 2.f)) + b[c];
      }
  }
}

/*
 * out = moving − (moving − batch)·decay, decay = 1 − momentum: a BatchNormalization moving
 * statistic's update in tfjs-layers' order of operations.
 */
EXPORT(moving_average)
void moving_average(const float *moving, const float *batch, float *out, int n, float decay) {
  const f4 d = splat(decay);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const f4 m = ld(moving + i);
    st(out + i, wasm_f32x4_sub(m, wasm_f32x4_mul(wasm_f32x4_sub(m, ld(batch + i)), d)));
  }
  for (; i < n; i++) out[i] = moving[i] - (moving[i] - batch[i]) * decay;
}
