/* Conv2D forward and its input and filter gradients (NHWC); 1x1 stride-1 convs go to gemm.c. */
#include "common.h"
#include "gemm.h"

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
