/*
 * SIMD training kernels for MobileNetV2 on TF.js (NHWC, float32).
 *
 * Built by `npm run build:wasm` (clang --target=wasm32 -msimd128) into binary.ts.
 *
 * The module imports its memory. On the 'wasm' backend that memory is TF.js's own heap, so
 * these functions read and write tensors in place; pointers are byte offsets into it. That is
 * only safe because nothing here uses linear memory of its own: no globals, no static data, no
 * address-taken locals (so clang never touches the shadow stack). build.mjs checks the binary
 * for that. On the 'cpu' backend the module gets a private memory and the caller copies in/out.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

typedef v128_t f4;

static inline f4 ld(const float *p) { return wasm_v128_load(p); }
static inline void st(float *p, f4 v) { wasm_v128_store(p, v); }
static inline f4 splat(float v) { return wasm_f32x4_splat(v); }
// Baseline simd128 has no fused multiply-add.
static inline f4 madd(f4 a, f4 b, f4 acc) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }
static inline float hsum(f4 v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

static void fill0(float *p, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) st(p + i, wasm_f32x4_const_splat(0.f));
  for (; i < n; i++) p[i] = 0.f;
}

static inline void fill(float *p, float value, int n) {
  const f4 v = splat(value);
  int i = 0;
  for (; i + 4 <= n; i += 4) st(p + i, v);
  for (; i < n; i++) p[i] = value;
}

/* dst[0..n) += s * src[0..n) */
static inline void axpy(float *dst, const float *src, float s, int n) {
  f4 sv = splat(s);
  int i = 0;
  for (; i + 4 <= n; i += 4) st(dst + i, madd(sv, ld(src + i), ld(dst + i)));
  for (; i < n; i++) dst[i] += s * src[i];
}

static inline float dot(const float *a, const float *b, int n) {
  f4 acc = wasm_f32x4_const_splat(0.f);
  int i = 0;
  for (; i + 4 <= n; i += 4) acc = madd(ld(a + i), ld(b + i), acc);
  float s = hsum(acc);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

static inline float tail_dot(const float *a, const float *b, int n) {
  float s = 0.f;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/*
 * One depthwise tap: acc[c·M + q] += x[c] · w[c·M + q] for every channel c and multiplier q.
 * The depthwise forward (acc = y, w = filter) and filter gradient (acc = dw, w = dy) share it.
 */
static inline void depthwise_tap(float *acc, const float *x, const float *w, int C, int M) {
  if (M == 1) {
    int c = 0;
    for (; c + 4 <= C; c += 4) st(acc + c, madd(ld(x + c), ld(w + c), ld(acc + c)));
    for (; c < C; c++) acc[c] += x[c] * w[c];
  } else {
    for (int c = 0; c < C; c++)
      for (int q = 0; q < M; q++) acc[c * M + q] += x[c] * w[c * M + q];
  }
}

/*
 * dw[ci][co] += sum_r x[r][ci] * dy[r][co]: the filter gradient of a 1x1 convolution, with
 * rows r = N·H·W. Rows go in tiles that stay in cache while a 4x8 block of dw lives in registers.
 */
static void gemm_tn_acc(const float *x, const float *dy, float *dw, int R, int Ci, int Co) {
  const int T = 64; /* rows per tile */
  for (int r0 = 0; r0 < R; r0 += T) {
    const int r1 = r0 + T < R ? r0 + T : R;
    int ci = 0;
    for (; ci + 4 <= Ci; ci += 4) {
      int co = 0;
      for (; co + 8 <= Co; co += 8) {
        float *w = dw + ci * Co + co;
        f4 a00 = ld(w), a01 = ld(w + 4);
        f4 a10 = ld(w + Co), a11 = ld(w + Co + 4);
        f4 a20 = ld(w + 2 * Co), a21 = ld(w + 2 * Co + 4);
        f4 a30 = ld(w + 3 * Co), a31 = ld(w + 3 * Co + 4);
        for (int r = r0; r < r1; r++) {
          const float *xr = x + r * Ci + ci;
          const float *dr = dy + r * Co + co;
          const f4 d0 = ld(dr), d1 = ld(dr + 4);
          f4 s = splat(xr[0]);
          a00 = madd(s, d0, a00); a01 = madd(s, d1, a01);
          s = splat(xr[1]);
          a10 = madd(s, d0, a10); a11 = madd(s, d1, a11);
          s = splat(xr[2]);
          a20 = madd(s, d0, a20); a21 = madd(s, d1, a21);
          s = splat(xr[3]);
          a30 = madd(s, d0, a30); a31 = madd(s, d1, a31);
        }
        st(w, a00); st(w + 4, a01);
        st(w + Co, a10); st(w + Co + 4, a11);
        st(w + 2 * Co, a20); st(w + 2 * Co + 4, a21);
        st(w + 3 * Co, a30); st(w + 3 * Co + 4, a31);
      }
      for (; co + 4 <= Co; co += 4) {
        float *w = dw + ci * Co + co;
        f4 a0 = ld(w), a1 = ld(w + Co), a2 = ld(w + 2 * Co), a3 = ld(w + 3 * Co);
        for (int r = r0; r < r1; r++) {
          const float *xr = x + r * Ci + ci;
          const f4 d = ld(dy + r * Co + co);
          a0 = madd(splat(xr[0]), d, a0);
          a1 = madd(splat(xr[1]), d, a1);
          a2 = madd(splat(xr[2]), d, a2);
          a3 = madd(splat(xr[3]), d, a3);
        }
        st(w, a0); st(w + Co, a1); st(w + 2 * Co, a2); st(w + 3 * Co, a3);
      }
      for (; co < Co; co++) {
        float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
        for (int r = r0; r < r1; r++) {
          const float *xr = x + r * Ci + ci;
          const float d = dy[r * Co + co];
          s0 += xr[0] * d; s1 += xr[1] * d; s2 += xr[2] * d; s3 += xr[3] * d;
        }
        dw[ci * Co + co] += s0;
        dw[(ci + 1) * Co + co] += s1;
        dw[(ci + 2) * Co + co] += s2;
        dw[(ci + 3) * Co + co] += s3;
      }
    }
    for (; ci < Ci; ci++) {
      for (int r = r0; r < r1; r++) axpy(dw + ci * Co, dy + r * Co, x[r * Ci + ci], Co);
    }
  }
}

/*
 * dx[r][ci] = sum_co dy[r][co] * w[ci][co]: the input gradient of a 1x1 convolution.
 * A 4x4 block of dot products shares every load.
 */
static void gemm_nt(const float *dy, const float *w, float *dx, int R, int Ci, int Co) {
  int r = 0;
  for (; r + 4 <= R; r += 4) {
    const float *d0 = dy + r * Co, *d1 = d0 + Co, *d2 = d1 + Co, *d3 = d2 + Co;
    int ci = 0;
    for (; ci + 4 <= Ci; ci += 4) {
      const float *w0 = w + ci * Co, *w1 = w0 + Co, *w2 = w1 + Co, *w3 = w2 + Co;
      f4 a00 = wasm_f32x4_const_splat(0.f), a01 = a00, a02 = a00, a03 = a00;
      f4 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
      f4 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
      f4 a30 = a00, a31 = a00, a32 = a00, a33 = a00;
      int co = 0;
      for (; co + 4 <= Co; co += 4) {
        const f4 x0 = ld(d0 + co), x1 = ld(d1 + co), x2 = ld(d2 + co), x3 = ld(d3 + co);
        const f4 v0 = ld(w0 + co), v1 = ld(w1 + co), v2 = ld(w2 + co), v3 = ld(w3 + co);
        a00 = madd(x0, v0, a00); a01 = madd(x0, v1, a01); a02 = madd(x0, v2, a02); a03 = madd(x0, v3, a03);
        a10 = madd(x1, v0, a10); a11 = madd(x1, v1, a11); a12 = madd(x1, v2, a12); a13 = madd(x1, v3, a13);
        a20 = madd(x2, v0, a20); a21 = madd(x2, v1, a21); a22 = madd(x2, v2, a22); a23 = madd(x2, v3, a23);
        a30 = madd(x3, v0, a30); a31 = madd(x3, v1, a31); a32 = madd(x3, v2, a32); a33 = madd(x3, v3, a33);
      }
      /* (No arrays of accumulators: clang would put them on the shadow stack.) */
#define OUT(i, j, acc, di, wj) dx[(r + i) * Ci + ci + j] = hsum(acc) + tail_dot(di + co, wj + co, Co - co)
      OUT(0, 0, a00, d0, w0); OUT(0, 1, a01, d0, w1); OUT(0, 2, a02, d0, w2); OUT(0, 3, a03, d0, w3);
      OUT(1, 0, a10, d1, w0); OUT(1, 1, a11, d1, w1); OUT(1, 2, a12, d1, w2); OUT(1, 3, a13, d1, w3);
      OUT(2, 0, a20, d2, w0); OUT(2, 1, a21, d2, w1); OUT(2, 2, a22, d2, w2); OUT(2, 3, a23, d2, w3);
      OUT(3, 0, a30, d3, w0); OUT(3, 1, a31, d3, w1); OUT(3, 2, a32, d3, w2); OUT(3, 3, a33, d3, w3);
#undef OUT
    }
    for (; ci < Ci; ci++) {
      const float *wr = w + ci * Co;
      dx[r * Ci + ci] = dot(d0, wr, Co);
      dx[(r + 1) * Ci + ci] = dot(d1, wr, Co);
      dx[(r + 2) * Ci + ci] = dot(d2, wr, Co);
      dx[(r + 3) * Ci + ci] = dot(d3, wr, Co);
    }
  }
  for (; r < R; r++) {
    for (int ci = 0; ci < Ci; ci++) dx[r * Ci + ci] = dot(dy + r * Co, w + ci * Co, Co);
  }
}

/* Whether p[0..n) holds no infinity or NaN. */
static int all_finite(const float *p, int n) {
  const f4 inf = splat(__builtin_inff());
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    /* |v| < inf is false for ±inf and NaN. */
    if (!wasm_i32x4_all_true(wasm_f32x4_lt(wasm_f32x4_abs(ld(p + i)), inf))) return 0;
  }
  for (; i < n; i++)
    if (!(__builtin_fabsf(p[i]) < __builtin_inff())) return 0;
  return 1;
}

/*
 * Conv2D filter gradient. x [N,H,W,Ci], dy [N,OH,OW,Co], dw [KH,KW,Ci,Co]; pt/pl are the top
 * and left padding (bottom/right padding only shows up as output rows that exist).
 */
EXPORT(conv2d_backprop_filter)
void conv2d_backprop_filter(const float *x, const float *dy, float *dw, int N, int H, int W, int Ci,
                            int OH, int OW, int Co, int KH, int KW, int SH, int SW, int PT, int PL) {
  fill0(dw, KH * KW * Ci * Co);
  if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W) {
    gemm_tn_acc(x, dy, dw, N * H * W, Ci, Co);
    return;
  }
  /* Skipping x = 0 is exact only while dy is finite: TF.js gives 0 · inf = NaN. */
  const int skipZeros = all_finite(dy, N * OH * OW * Co);
  for (int n = 0; n < N; n++) {
    for (int oh = 0; oh < OH; oh++) {
      for (int ow = 0; ow < OW; ow++) {
        const float *dr = dy + ((n * OH + oh) * OW + ow) * Co;
        for (int kh = 0; kh < KH; kh++) {
          const int ih = oh * SH - PT + kh;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PL + kw;
            if (iw < 0 || iw >= W) continue;
            const float *xr = x + ((n * H + ih) * W + iw) * Ci;
            float *wr = dw + (kh * KW + kw) * Ci * Co;
            for (int ci = 0; ci < Ci; ci++) {
              const float v = xr[ci];
              // Inputs mostly come out of ReLU6, so many are exactly zero.
              if (v != 0.f || !skipZeros) axpy(wr + ci * Co, dr, v, Co);
            }
          }
        }
      }
    }
  }
}

/*
 * y[r][co] = sum_ci x[r][ci] · w[ci][co]: a 1x1 convolution's forward pass. Four rows times
 * eight output channels of accumulators stay in registers while ci runs.
 */
static void gemm_nn(const float *x, const float *w, float *y, int R, int Ci, int Co) {
  int r = 0;
  for (; r + 4 <= R; r += 4) {
    const float *x0 = x + r * Ci, *x1 = x0 + Ci, *x2 = x1 + Ci, *x3 = x2 + Ci;
    float *y0 = y + r * Co, *y1 = y0 + Co, *y2 = y1 + Co, *y3 = y2 + Co;
    int co = 0;
    for (; co + 8 <= Co; co += 8) {
      f4 a00 = wasm_f32x4_const_splat(0.f), a01 = a00, a10 = a00, a11 = a00;
      f4 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      for (int ci = 0; ci < Ci; ci++) {
        const float *wr = w + ci * Co + co;
        const f4 w0 = ld(wr), w1 = ld(wr + 4);
        f4 s = splat(x0[ci]);
        a00 = madd(s, w0, a00); a01 = madd(s, w1, a01);
        s = splat(x1[ci]);
        a10 = madd(s, w0, a10); a11 = madd(s, w1, a11);
        s = splat(x2[ci]);
        a20 = madd(s, w0, a20); a21 = madd(s, w1, a21);
        s = splat(x3[ci]);
        a30 = madd(s, w0, a30); a31 = madd(s, w1, a31);
      }
      st(y0 + co, a00); st(y0 + co + 4, a01);
      st(y1 + co, a10); st(y1 + co + 4, a11);
      st(y2 + co, a20); st(y2 + co + 4, a21);
      st(y3 + co, a30); st(y3 + co + 4, a31);
    }
    for (; co + 4 <= Co; co += 4) {
      f4 a0 = wasm_f32x4_const_splat(0.f), a1 = a0, a2 = a0, a3 = a0;
      for (int ci = 0; ci < Ci; ci++) {
        const f4 wv = ld(w + ci * Co + co);
        a0 = madd(splat(x0[ci]), wv, a0);
        a1 = madd(splat(x1[ci]), wv, a1);
        a2 = madd(splat(x2[ci]), wv, a2);
        a3 = madd(splat(x3[ci]), wv, a3);
      }
      st(y0 + co, a0); st(y1 + co, a1); st(y2 + co, a2); st(y3 + co, a3);
    }
    for (; co < Co; co++) {
      float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
      for (int ci = 0; ci < Ci; ci++) {
        const float wv = w[ci * Co + co];
        s0 += x0[ci] * wv; s1 += x1[ci] * wv; s2 += x2[ci] * wv; s3 += x3[ci] * wv;
      }
      y0[co] = s0; y1[co] = s1; y2[co] = s2; y3[co] = s3;
    }
  }
  for (; r < R; r++) {
    float *yr = y + r * Co;
    fill0(yr, Co);
    for (int ci = 0; ci < Ci; ci++) axpy(yr, w + ci * Co, x[r * Ci + ci], Co);
  }
}

/*
 * Conv2D input gradient. dy [N,OH,OW,Co], w [KH,KW,Ci,Co], dx [N,H,W,Ci]. `wt` is scratch of
 * Ci·Co floats (or 0): with it, a 1x1 conv's dx = dy · wᵀ runs as the forward's register-blocked
 * product over a transposed filter, which beats dot products with their horizontal sums when
 * Co is small (16–64 in MobileNetV2's project convs).
 */
EXPORT(conv2d_backprop_input)
void conv2d_backprop_input(const float *dy, const float *w, float *dx, int N, int H, int W, int Ci,
                           int OH, int OW, int Co, int KH, int KW, int SH, int SW, int PT, int PL, float *wt) {
  if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W) {
    if (wt) {
      for (int ci = 0; ci < Ci; ci++)
        for (int co = 0; co < Co; co++) wt[co * Ci + ci] = w[ci * Co + co];
      gemm_nn(dy, wt, dx, N * H * W, Co, Ci);
    } else {
      gemm_nt(dy, w, dx, N * H * W, Ci, Co);
    }
    return;
  }
  fill0(dx, N * H * W * Ci);
  for (int n = 0; n < N; n++) {
    for (int oh = 0; oh < OH; oh++) {
      for (int ow = 0; ow < OW; ow++) {
        const float *dr = dy + ((n * OH + oh) * OW + ow) * Co;
        for (int kh = 0; kh < KH; kh++) {
          const int ih = oh * SH - PT + kh;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PL + kw;
            if (iw < 0 || iw >= W) continue;
            float *xr = dx + ((n * H + ih) * W + iw) * Ci;
            const float *wr = w + (kh * KW + kw) * Ci * Co;
            for (int ci = 0; ci < Ci; ci++) xr[ci] += dot(dr, wr + ci * Co, Co);
          }
        }
      }
    }
  }
}

/*
 * Depthwise filter gradient. x [N,H,W,C], dy [N,OH,OW,C·M], dw [KH,KW,C,M], dilations DH/DW.
 * With M = 1 (MobileNet) every tap is one vector pass over the channels.
 */
EXPORT(depthwise_backprop_filter)
void depthwise_backprop_filter(const float *x, const float *dy, float *dw, int N, int H, int W, int C,
                               int OH, int OW, int M, int KH, int KW, int SH, int SW, int PT, int PL,
                               int DH, int DW) {
  const int CM = C * M;
  fill0(dw, KH * KW * CM);
  for (int n = 0; n < N; n++) {
    for (int oh = 0; oh < OH; oh++) {
      for (int ow = 0; ow < OW; ow++) {
        const float *dr = dy + ((n * OH + oh) * OW + ow) * CM;
        for (int kh = 0; kh < KH; kh++) {
          const int ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PL + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const float *xr = x + ((n * H + ih) * W + iw) * C;
            float *wr = dw + (kh * KW + kw) * CM;
            depthwise_tap(wr, xr, dr, C, M);
          }
        }
      }
    }
  }
}

/* Depthwise input gradient. dy [N,OH,OW,C·M], w [KH,KW,C,M], dx [N,H,W,C]. */
EXPORT(depthwise_backprop_input)
void depthwise_backprop_input(const float *dy, const float *w, float *dx, int N, int H, int W, int C,
                              int OH, int OW, int M, int KH, int KW, int SH, int SW, int PT, int PL,
                              int DH, int DW) {
  const int CM = C * M;
  fill0(dx, N * H * W * C);
  for (int n = 0; n < N; n++) {
    for (int oh = 0; oh < OH; oh++) {
      for (int ow = 0; ow < OW; ow++) {
        const float *dr = dy + ((n * OH + oh) * OW + ow) * CM;
        for (int kh = 0; kh < KH; kh++) {
          const int ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PL + kw * DW;
            if (iw < 0 || iw >= W) continue;
            float *xr = dx + ((n * H + ih) * W + iw) * C;
            const float *wr = w + (kh * KW + kw) * CM;
            if (M == 1) {
              int c = 0;
              for (; c + 4 <= C; c += 4) st(xr + c, madd(ld(dr + c), ld(wr + c), ld(xr + c)));
              for (; c < C; c++) xr[c] += dr[c] * wr[c];
            } else {
              for (int c = 0; c < C; c++) {
                float s = 0.f;
                for (int q = 0; q < M; q++) s += dr[c * M + q] * wr[c * M + q];
                xr[c] += s;
              }
            }
          }
        }
      }
    }
  }
}

/*
 * dx = dy · m, m = 1 where x lies in the interval (lo, hi) and 0 elsewhere; `closed` bit 0
 * closes it at lo, bit 1 at hi, and bit 2 makes m NaN where x is NaN. One pass for the
 * gradients of Relu (0, inf] and Relu6 (0, 6] (TF.js: dy · step(x), NaN at NaN) and of
 * min(x, c) (TF.js: dy · (x <= c)). A multiply, not a select, so that dy = ±inf or NaN against
 * m = 0 gives NaN and negative dy gives −0, as TF.js's ops do.
 */
EXPORT(mask_grad)
void mask_grad(const float *dy, const float *x, float *dx, int n, float lo, float hi, int closed) {
  const f4 l = splat(lo), h = splat(hi), one = splat(1.f), nan = splat(__builtin_nanf(""));
  const int loClosed = closed & 1, hiClosed = closed & 2, nanToNan = closed & 4;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const f4 v = ld(x + i);
    const f4 above = loClosed ? wasm_f32x4_ge(v, l) : wasm_f32x4_gt(v, l);
    const f4 below = hiClosed ? wasm_f32x4_le(v, h) : wasm_f32x4_lt(v, h);
    f4 m = wasm_v128_and(one, wasm_v128_and(above, below));
    if (nanToNan) m = wasm_v128_bitselect(m, nan, wasm_f32x4_eq(v, v));
    st(dx + i, wasm_f32x4_mul(ld(dy + i), m));
  }
  for (; i < n; i++) {
    const float v = x[i];
    const int keep = (loClosed ? v >= lo : v > lo) && (hiClosed ? v <= hi : v < hi);
    const float m = (nanToNan && v != v) ? v : keep ? 1.f : 0.f;
    dx[i] = dy[i] * m;
  }
}

/*
 * out = min(x, s) (op 0), max(x, s) (op 1), relu (op 2: max(x, 0) + 0, which turns −0 into
 * +0 as Math.max(0, x) does) or relu6 (op 3: min(relu(x), s) with s = 6), elementwise against
 * one scalar. NaN in x stays NaN; the caller keeps s from being NaN or ±0, where pmin/pmax
 * would differ from Math.min/Math.max.
 */
EXPORT(scalar_min_max)
void scalar_min_max(const float *x, float s, float *out, int n, int op) {
  const f4 sv = splat(s), zero = wasm_f32x4_const_splat(0.f);
  int i = 0;
  /* pmin/pmax return the first operand when either is NaN, like TF.js's min/max of x. */
  if (op == 0)
    for (; i + 4 <= n; i += 4) st(out + i, wasm_f32x4_pmin(ld(x + i), sv));
  else if (op == 1)
    for (; i + 4 <= n; i += 4) st(out + i, wasm_f32x4_pmax(ld(x + i), sv));
  else if (op == 2)
    for (; i + 4 <= n; i += 4) st(out + i, wasm_f32x4_add(wasm_f32x4_pmax(ld(x + i), zero), zero));
  else
    for (; i + 4 <= n; i += 4) st(out + i, wasm_f32x4_pmin(wasm_f32x4_add(wasm_f32x4_pmax(ld(x + i), zero), zero), sv));
  for (; i < n; i++) {
    const float v = x[i], r = v > 0.f ? v : 0.f;
    out[i] = (v != v) ? v : op == 0 ? (v < s ? v : s) : op == 1 ? (v > s ? v : s) : op == 2 ? r : (r < s ? r : s);
  }
}

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

/*
 * out[r][c] = a[r][c] ∘ b[c] (or b[c] ∘ a[r][c] when `swap`), ∘ = + − × ÷ for op 0..3: a full
 * tensor against a per-channel vector or a scalar (C = 1), the broadcasts of BatchNorm
 * statistics and of Adam's scalars, which TF.js's generic broadcast walks index by index.
 */
EXPORT(binary_rows)
void binary_rows(const float *a, const float *b, float *out, int R, int C, int op, int swap) {
#define LOOP(EXPR_V, EXPR_S)                                                                        \
  if (C == 1) {                                                                                     \
    const f4 bv = splat(b[0]);                                                                      \
    const float bs = b[0];                                                                          \
    int i = 0;                                                                                      \
    for (; i + 4 <= R; i += 4) { const f4 av = ld(a + i); st(out + i, EXPR_V); }                     \
    for (; i < R; i++) { const float as = a[i]; out[i] = EXPR_S; }                                  \
  } else {                                                                                          \
    for (int r = 0; r < R; r++) {                                                                   \
      const float *ar = a + r * C;                                                                  \
      float *o = out + r * C;                                                                       \
      int c = 0;                                                                                    \
      for (; c + 4 <= C; c += 4) { const f4 av = ld(ar + c), bv = ld(b + c); st(o + c, EXPR_V); }   \
      for (; c < C; c++) { const float as = ar[c], bs = b[c]; o[c] = EXPR_S; }                      \
    }                                                                                               \
  }
  switch (op * 2 + (swap ? 1 : 0)) {
    case 0: case 1: LOOP(wasm_f32x4_add(av, bv), as + bs) break;
    case 2: LOOP(wasm_f32x4_sub(av, bv), as - bs) break;
    case 3: LOOP(wasm_f32x4_sub(bv, av), bs - as) break;
    case 4: case 5: LOOP(wasm_f32x4_mul(av, bv), as * bs) break;
    case 6: LOOP(wasm_f32x4_div(av, bv), as / bs) break;
    case 7: LOOP(wasm_f32x4_div(bv, av), bs / as) break;
    default: break;
  }
#undef LOOP
}

/*
 * A 4-D slice (lower ranks padded with leading 1s) of src with dims d0..d3, starting at b0..b3,
 * of size s0..s3, as one memcpy per run of s3 contiguous floats.
 */
EXPORT(slice4)
void slice4(const float *src, float *out, int d1, int d2, int d3, int b0, int b1, int b2, int b3,
            int s0, int s1, int s2, int s3) {
  for (int i = 0; i < s0; i++)
    for (int j = 0; j < s1; j++)
      for (int k = 0; k < s2; k++) {
        const float *from = src + (((b0 + i) * d1 + b1 + j) * d2 + b2 + k) * d3 + b3;
        __builtin_memcpy(out, from, (unsigned)s3 * sizeof(float));
        out += s3;
      }
}

/* v − v is NaN for ±inf and NaN, 0 otherwise. */
static inline int is_finite(float v) { return v - v == 0.f; }

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

/*
 * One Adam step for one variable, with TF.js's AdamOptimizer arithmetic in its order, op by op
 * in float32 (so the results are bit-identical to its 14 separate ops):
 *   m' = m·β1 + g·(1−β1),  v' = v·β2 + g²·(1−β2),
 *   w' = ((m'/c1) / (sqrt(v'/c2) + ε))·(−lr) + w,   c1 = 1 − β1^t, c2 = 1 − β2^t.
 * ε sits outside the square root, after bias correction, as in TF.js and PyTorch.
 */
EXPORT(adam)
void adam(const float *w, const float *m, const float *v, const float *g, float *w2, float *m2, float *v2, int n,
          float b1, float omb1, float b2, float omb2, float c1, float c2, float eps, float neglr) {
  const f4 B1 = splat(b1), OMB1 = splat(omb1), B2 = splat(b2), OMB2 = splat(omb2);
  const f4 C1 = splat(c1), C2 = splat(c2), E = splat(eps), L = splat(neglr);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const f4 gv = ld(g + i);
    const f4 mv = wasm_f32x4_add(wasm_f32x4_mul(ld(m + i), B1), wasm_f32x4_mul(gv, OMB1));
    const f4 vv = wasm_f32x4_add(wasm_f32x4_mul(ld(v + i), B2), wasm_f32x4_mul(wasm_f32x4_mul(gv, gv), OMB2));
    st(m2 + i, mv);
    st(v2 + i, vv);
    const f4 den = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vv, C2)), E);
    st(w2 + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_div(wasm_f32x4_div(mv, C1), den), L), ld(w + i)));
  }
  for (; i < n; i++) {
    const float gs = g[i];
    const float ms = m[i] * b1 + gs * omb1;
    const float vs = v[i] * b2 + (gs * gs) * omb2;
    m2[i] = ms;
    v2[i] = vs;
    w2[i] = ((ms / c1) / (__builtin_sqrtf(vs / c2) + eps)) * neglr + w[i];
  }
}

/*
 * Conv2D forward. x [N,H,W,Ci], w [KH,KW,Ci,Co], y [N,OH,OW,Co], dilations DH/DW. Each output
 * pixel's Co channels are accumulated in place from every tap that lands inside x.
 */
EXPORT(conv2d)
void conv2d(const float *x, const float *w, float *y, int N, int H, int W, int Ci, int OH, int OW, int Co,
            int KH, int KW, int SH, int SW, int PT, int PL, int DH, int DW) {
  if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W) {
    gemm_nn(x, w, y, N * H * W, Ci, Co);
    return;
  }
  if (Co % 4 != 0) fill0(y, N * OH * OW * Co);
  for (int n = 0; n < N; n++) {
    for (int oh = 0; oh < OH; oh++) {
      for (int ow = 0; ow < OW; ow++) {
        float *yr = y + ((n * OH + oh) * OW + ow) * Co;
        if (Co % 4 == 0) {
          /* Output channels in register blocks of 16 (then 4) across all taps: few input
             channels (the stem's 1 or 3) would otherwise mean a load and store of y per tap. */
          for (int co = 0; co < Co;) {
            const int wide = Co - co >= 16;
            f4 a0 = wasm_f32x4_const_splat(0.f), a1 = a0, a2 = a0, a3 = a0;
            for (int kh = 0; kh < KH; kh++) {
              const int ih = oh * SH - PT + kh * DH;
              if (ih < 0 || ih >= H) continue;
              for (int kw = 0; kw < KW; kw++) {
                const int iw = ow * SW - PL + kw * DW;
                if (iw < 0 || iw >= W) continue;
                const float *xr = x + ((n * H + ih) * W + iw) * Ci;
                const float *wr = w + (kh * KW + kw) * Ci * Co + co;
                if (wide) {
                  for (int ci = 0; ci < Ci; ci++) {
                    const f4 sv = splat(xr[ci]);
                    const float *wc = wr + ci * Co;
                    a0 = madd(sv, ld(wc), a0); a1 = madd(sv, ld(wc + 4), a1);
                    a2 = madd(sv, ld(wc + 8), a2); a3 = madd(sv, ld(wc + 12), a3);
                  }
                } else {
                  for (int ci = 0; ci < Ci; ci++) a0 = madd(splat(xr[ci]), ld(wr + ci * Co), a0);
                }
              }
            }
            st(yr + co, a0);
            if (wide) {
              st(yr + co + 4, a1); st(yr + co + 8, a2); st(yr + co + 12, a3);
              co += 16;
            } else {
              co += 4;
            }
          }
          continue;
        }
        for (int kh = 0; kh < KH; kh++) {
          const int ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PL + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const float *xr = x + ((n * H + ih) * W + iw) * Ci;
            const float *wr = w + (kh * KW + kw) * Ci * Co;
            for (int ci = 0; ci < Ci; ci++) axpy(yr, wr + ci * Co, xr[ci], Co);
          }
        }
      }
    }
  }
}

/* Depthwise forward. x [N,H,W,C], w [KH,KW,C,M], y [N,OH,OW,C·M]. */
EXPORT(depthwise_conv2d)
void depthwise_conv2d(const float *x, const float *w, float *y, int N, int H, int W, int C, int OH, int OW, int M,
                      int KH, int KW, int SH, int SW, int PT, int PL, int DH, int DW) {
  const int CM = C * M;
  fill0(y, N * OH * OW * CM);
  for (int n = 0; n < N; n++) {
    for (int oh = 0; oh < OH; oh++) {
      for (int ow = 0; ow < OW; ow++) {
        float *yr = y + ((n * OH + oh) * OW + ow) * CM;
        for (int kh = 0; kh < KH; kh++) {
          const int ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PL + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const float *xr = x + ((n * H + ih) * W + iw) * C;
            const float *wr = w + (kh * KW + kw) * CM;
            depthwise_tap(yr, xr, wr, C, M);
          }
        }
      }
    }
  }
}

/*
 * One output row of n floats: s[0..d) placed at offset b, `value` elsewhere. b < 0 or
 * b + d > n crop the source (TF.js takes negative paddings as crops).
 */
static void pad_row(float *o, const float *s, int b, int d, int n, float value) {
  const int lo = b > 0 ? (b < n ? b : n) : 0;
  const int hi = b + d < n ? (b + d > lo ? b + d : lo) : n;
  fill(o, value, lo);
  if (hi > lo) __builtin_memcpy(o + lo, s + (lo - b), (unsigned)(hi - lo) * sizeof(float));
  fill(o + hi, value, n - hi);
}

/*
 * A 4-D constant pad (lower ranks padded with leading 1s): out [o0,o1,o2,o3] holds src
 * [d0,d1,d2,d3] at offset (b0,b1,b2,b3) and `value` elsewhere. Offsets may be negative and
 * the output smaller than the source (crops); every copy is clipped to both.
 */
EXPORT(pad4)
void pad4(const float *src, float *out, int d0, int d1, int d2, int d3, int b0, int b1, int b2, int b3,
          int o1, int o2, int o3, int o0, float value) {
  /* Each output row is written once: padding around a copied source row, or all padding. */
  if (b3 == 0 && d3 == o3) {
    /* No padding along the last axis: rows of o2·o3 floats (one-channel images would otherwise
       be rows of one float). */
    for (int a = 0; a < o0; a++)
      for (int b = 0; b < o1; b++) {
        float *o = out + (a * o1 + b) * o2 * o3;
        const int sa = a - b0, sb = b - b1;
        if (sa < 0 || sa >= d0 || sb < 0 || sb >= d1) fill(o, value, o2 * o3);
        else pad_row(o, src + (sa * d1 + sb) * d2 * d3, b2 * o3, d2 * d3, o2 * o3, value);
      }
    return;
  }
  for (int a = 0; a < o0; a++)
    for (int b = 0; b < o1; b++)
      for (int c = 0; c < o2; c++) {
        float *o = out + ((a * o1 + b) * o2 + c) * o3;
        const int sa = a - b0, sb = b - b1, sc = c - b2;
        if (sa < 0 || sa >= d0 || sb < 0 || sb >= d1 || sc < 0 || sc >= d2) fill(o, value, o3);
        else pad_row(o, src + ((sa * d1 + sb) * d2 + sc) * d3, b3, d3, o3, value);
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

/* dx = dy · (x · 2): Square's gradient in one pass, in TF.js's order of operations. */
EXPORT(square_grad)
void square_grad(const float *dy, const float *x, float *dx, int n) {
  const f4 two = splat(2.f);
  int i = 0;
  for (; i + 4 <= n; i += 4) st(dx + i, wasm_f32x4_mul(ld(dy + i), wasm_f32x4_mul(ld(x + i), two)));
  for (; i < n; i++) dx[i] = dy[i] * (x[i] * 2.f);
}
