/* Reductions over rows of channels: Sum/Mean, per-channel batch moments, and Mean's gradient. */
#include "common.h"

/*
 * out[c] = scale · sum_r x[r][c]: Sum and Mean over leading axes (channels-last statistics and
 * bias gradients). Sixteen channels at a time stay in registers, so each cache line of x is
 * read once; rows are summed in tiles so that rounding error grows with the tile, not with R.
 */
EXPORT(reduce_rows)
void reduce_rows(const float *x, float *out, int R, int C, float scale) {
  const int T = 256; /* rows per partial sum */
  int c = 0;
  for (; c + 16 <= C; c += 16) {
    f4 t0 = wasm_f32x4_const_splat(0.f), t1 = t0, t2 = t0, t3 = t0;
    for (int r0 = 0; r0 < R; r0 += T) {
      const int r1 = r0 + T < R ? r0 + T : R;
      f4 p0 = wasm_f32x4_const_splat(0.f), p1 = p0, p2 = p0, p3 = p0;
      for (int r = r0; r < r1; r++) {
        const float *xr = x + r * C + c;
        p0 = wasm_f32x4_add(p0, ld(xr)); p1 = wasm_f32x4_add(p1, ld(xr + 4));
        p2 = wasm_f32x4_add(p2, ld(xr + 8)); p3 = wasm_f32x4_add(p3, ld(xr + 12));
      }
      t0 = wasm_f32x4_add(t0, p0); t1 = wasm_f32x4_add(t1, p1);
      t2 = wasm_f32x4_add(t2, p2); t3 = wasm_f32x4_add(t3, p3);
    }
    const f4 sv = splat(scale);
    st(out + c, wasm_f32x4_mul(t0, sv)); st(out + c + 4, wasm_f32x4_mul(t1, sv));
    st(out + c + 8, wasm_f32x4_mul(t2, sv)); st(out + c + 12, wasm_f32x4_mul(t3, sv));
  }
  for (; c + 4 <= C; c += 4) {
    f4 t = wasm_f32x4_const_splat(0.f);
    for (int r0 = 0; r0 < R; r0 += T) {
      const int r1 = r0 + T < R ? r0 + T : R;
      f4 p = wasm_f32x4_const_splat(0.f);
      for (int r = r0; r < r1; r++) p = wasm_f32x4_add(p, ld(x + r * C + c));
      t = wasm_f32x4_add(t, p);
    }
    st(out + c, wasm_f32x4_mul(t, splat(scale)));
  }
  for (; c < C; c++) {
    float t = 0.f;
    for (int r0 = 0; r0 < R; r0 += T) {
      const int r1 = r0 + T < R ? r0 + T : R;
      float p = 0.f;
      for (int r = r0; r < r1; r++) p += x[r * C + c];
      t += p;
    }
    out[c] = t * scale;
  }
}

/*
 * One tile of rows [r0, r1) of four channels (x points at the first), shifted by k (each
 * channel's first value): the tile's mean and sum of squared deviations from it, in two passes
 * over rows still in cache, merged into the running mean and M2 of rows [0, r0) with Chan et
 * al.'s pairwise update. Deviations from a nearby mean keep the squares small when the data sit
 * far from 0 (values ~1e3 ± 1), where Σx² − (Σx)²/n would cancel every digit of the variance
 * away; the shift (exact there, x − k having x's spacing) keeps the sums and the running mean
 * small too, so that their rounding is that of the spread and not of the offset.
 */
/* Merges a tile of rows [r0, r1) with mean mb and M2 q into the running mean and M2 of rows [0, r0). */
static inline void moments_merge4(int r0, int r1, f4 mb, f4 q, float *mean, float *m2) {
  if (r0 == 0) {
    st(mean, mb);
    st(m2, q);
    return;
  }
  const float nb = (float)(r1 - r0), n = (float)r0, total = (float)r1;
  const f4 m = ld(mean), delta = wasm_f32x4_sub(mb, m);
  st(mean, madd(delta, splat(nb / total), m));
  st(m2, wasm_f32x4_add(ld(m2), madd(wasm_f32x4_mul(delta, delta), splat(n * nb / total), q)));
}

static inline void moments_tile4(const float *x, int C, int r0, int r1, f4 k, float *mean, float *m2) {
  /* Two accumulators per pass: one would make each row wait for the previous row's add. */
  f4 s0 = wasm_f32x4_const_splat(0.f), s1 = s0;
  int r = r0;
  for (; r + 2 <= r1; r += 2) {
    s0 = wasm_f32x4_add(s0, wasm_f32x4_sub(ld(x + r * C), k));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_sub(ld(x + (r + 1) * C), k));
  }
  if (r < r1) s0 = wasm_f32x4_add(s0, wasm_f32x4_sub(ld(x + r * C), k));
  const float nb = (float)(r1 - r0);
  const f4 mb = wasm_f32x4_div(wasm_f32x4_add(s0, s1), splat(nb));
  f4 q0 = wasm_f32x4_const_splat(0.f), q1 = q0;
  for (r = r0; r + 2 <= r1; r += 2) {
    const f4 d0 = wasm_f32x4_sub(wasm_f32x4_sub(ld(x + r * C), k), mb);
    const f4 d1 = wasm_f32x4_sub(wasm_f32x4_sub(ld(x + (r + 1) * C), k), mb);
    q0 = madd(d0, d0, q0);
    q1 = madd(d1, d1, q1);
  }
  if (r < r1) {
    const f4 d = wasm_f32x4_sub(wasm_f32x4_sub(ld(x + r * C), k), mb);
    q0 = madd(d, d, q0);
  }
  moments_merge4(r0, r1, mb, wasm_f32x4_add(q0, q1), mean, m2);
}

/* moments_tile4 for sixteen channels (a cache line): four independent sums in each pass. */
static inline void moments_tile16(const float *x, int C, int r0, int r1, float *mean, float *m2) {
  const f4 k0 = ld(x), k1 = ld(x + 4), k2 = ld(x + 8), k3 = ld(x + 12);
  f4 s0 = wasm_f32x4_const_splat(0.f), s1 = s0, s2 = s0, s3 = s0;
  for (int r = r0; r < r1; r++) {
    const float *xr = x + r * C;
    s0 = wasm_f32x4_add(s0, wasm_f32x4_sub(ld(xr), k0));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_sub(ld(xr + 4), k1));
    s2 = wasm_f32x4_add(s2, wasm_f32x4_sub(ld(xr + 8), k2));
    s3 = wasm_f32x4_add(s3, wasm_f32x4_sub(ld(xr + 12), k3));
  }
  const f4 nb = splat((float)(r1 - r0));
  const f4 m0 = wasm_f32x4_div(s0, nb), m1 = wasm_f32x4_div(s1, nb), m2_ = wasm_f32x4_div(s2, nb), m3 = wasm_f32x4_div(s3, nb);
  /* x − (k + mb): the tile mean rounded once, which moves M2 by nb·(rounding)², nothing. */
  const f4 c0 = wasm_f32x4_add(k0, m0), c1 = wasm_f32x4_add(k1, m1), c2 = wasm_f32x4_add(k2, m2_), c3 = wasm_f32x4_add(k3, m3);
  f4 q0 = wasm_f32x4_const_splat(0.f), q1 = q0, q2 = q0, q3 = q0;
  for (int r = r0; r < r1; r++) {
    const float *xr = x + r * C;
    const f4 d0 = wasm_f32x4_sub(ld(xr), c0), d1 = wasm_f32x4_sub(ld(xr + 4), c1);
    const f4 d2 = wasm_f32x4_sub(ld(xr + 8), c2), d3 = wasm_f32x4_sub(ld(xr + 12), c3);
    q0 = madd(d0, d0, q0); q1 = madd(d1, d1, q1); q2 = madd(d2, d2, q2); q3 = madd(d3, d3, q3);
  }
  moments_merge4(r0, r1, wasm_f32x4_sub(c0, k0), q0, mean, m2);
  moments_merge4(r0, r1, wasm_f32x4_sub(c1, k1), q1, mean + 4, m2 + 4);
  moments_merge4(r0, r1, wasm_f32x4_sub(c2, k2), q2, mean + 8, m2 + 8);
  moments_merge4(r0, r1, wasm_f32x4_sub(c3, k3), q3, mean + 12, m2 + 12);
}

/* moments_tile4 for one channel. */
static inline void moments_tile1(const float *x, int C, int r0, int r1, float k, float *mean, float *m2) {
  float s = 0.f;
  for (int r = r0; r < r1; r++) s += x[r * C] - k;
  const float nb = (float)(r1 - r0), mb = s / nb;
  float q = 0.f;
  for (int r = r0; r < r1; r++) {
    const float d = (x[r * C] - k) - mb;
    q += d * d;
  }
  if (r0 == 0) {
    *mean = mb;
    *m2 = q;
    return;
  }
  const float n = (float)r0, total = (float)r1, delta = mb - *mean;
  *mean += delta * (nb / total);
  *m2 += q + (delta * delta) * (n * nb / total);
}

/* One channel's mean and variance term by term, as TF.js's Mean(x) and Mean(Square(x − mean)). */
__attribute__((noinline)) static void moments_terms(const float *x, int R, int C, float *mean, float *var) {
  const float n = (float)R;
  float m = 0.f, v = 0.f;
  for (int r = 0; r < R; r++) m += x[r * C] / n;
  for (int r = 0; r < R; r++) {
    const float d = x[r * C] - m;
    v += (d * d) / n;
  }
  *mean = m;
  *var = v;
}

/*
 * Per-channel mean and biased variance of x [R,C] (tf.moments over the leading axes) in one
 * pass over memory, where moments() makes four passes and two full-size temporaries. Rows go
 * in tiles of T: the tile's T cache lines of one run of sixteen channels (8 KiB) stay in L1
 * while each group of four channels in them runs its two passes. A channel whose result is not
 * finite (infinities, NaN, an overflow) is computed again term by term, as TF.js's
 * Mean(x) and Mean(Square(x − mean)), so that it gets TF.js's NaN or infinity. R ≥ 1.
 */
EXPORT(batch_moments)
void batch_moments(const float *x, float *mean, float *var, int R, int C) {
  const int T = 128; /* rows per tile */
  for (int r0 = 0; r0 < R; r0 += T) {
    const int r1 = r0 + T < R ? r0 + T : R;
    int c = 0;
    for (; c + 16 <= C; c += 16) moments_tile16(x + c, C, r0, r1, mean + c, var + c);
    for (; c + 4 <= C; c += 4) moments_tile4(x + c, C, r0, r1, ld(x + c), mean + c, var + c);
    for (; c < C; c++) moments_tile1(x + c, C, r0, r1, x[c], mean + c, var + c);
  }
  const float n = (float)R;
  for (int c = 0; c < C; c++) {
    const float m = x[c] + mean[c], v = var[c] / n;
    if (is_finite(m + v)) {
      mean[c] = m;
      var[c] = v;
    } else {
      moments_terms(x + c, R, C, mean + c, var + c);
    }
  }
}

/*
 * out[r][c] = src[c] / divisor: the gradient of a Mean over leading axes, which TF.js computes
 * as (dy · ones(x.shape)) / N in three full-size passes. Division, not a reciprocal, so the
 * values are TF.js's.
 */
EXPORT(broadcast_rows)
void broadcast_rows(const float *src, float *out, int R, int C, float divisor) {
  const f4 d = splat(divisor);
  for (int r = 0; r < R; r++) {
    float *o = out + r * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) st(o + c, wasm_f32x4_div(ld(src + c), d));
    for (; c < C; c++) o[c] = src[c] / divisor;
  }
}
