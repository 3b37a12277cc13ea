/* Depthwise conv forward and its input and filter gradients (NHWC, any channel multiplier). */
#include "common.h"

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
