/* The 1x1-convolution matrix products declared in gemm.h, register-blocked. */
#include "common.h"
#include "gemm.h"

/*
 * dw[ci][co] += sum_r x[r][ci] * dy[r][co]: the filter gradient of a 1x1 convolution, with
 * rows r = N·H·W. Rows go in tiles that stay in cache while a 4x8 block of dw lives in registers.
 */
void gemm_tn_acc(const float *x, const float *dy, float *dw, int R, int Ci, int Co) {
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
void gemm_nt(const float *dy, const float *w, float *dx, int R, int Ci, int Co) {
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

/*
 * y[r][co] = sum_ci x[r][ci] · w[ci][co]: a 1x1 convolution's forward pass. Four rows times
 * eight output channels of accumulators stay in registers while ci runs.
 */
void gemm_nn(const float *x, const float *w, float *y, int R, int Ci, int Co) {
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
