/* One pass over a tensor: against a scalar or a per-channel vector, and one-pass gradients. */
#include "common.h"

/*
 * dx = dy · m, m = 1 where x lies in the interval (lo, hi) and 0 elsewhere; `flags` (enum
 * mask_flag) close it at lo or hi and make m NaN where x is NaN. One pass for the
 * gradients of Relu (0, inf] and Relu6 (0, 6] (TF.js: dy · step(x), NaN at NaN) and of
 * min(x, c) (TF.js: dy · (x <= c)). A multiply, not a select, so that dy = ±inf or NaN against
 * m = 0 gives NaN and negative dy gives −0, as TF.js's ops do.
 */
EXPORT(mask_grad)
void mask_grad(const float *dy, const float *x, float *dx, int n, float lo, float hi, enum mask_flag flags) {
  const f4 l = splat(lo), h = splat(hi), one = splat(1.f), nan = splat(__builtin_nanf(""));
  const int loClosed = flags & MASK_LO_CLOSED, hiClosed = flags & MASK_HI_CLOSED, nanToNan = flags & MASK_NAN_PROPAGATES;
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
 * out = min(x, s), max(x, s), relu (max(x, 0) + 0, which turns −0 into +0 as Math.max(0, x)
 * does) or relu6 (min(relu(x), s) with s = 6), by `op` (enum scalar_op), elementwise against
 * one scalar. NaN in x stays NaN; the caller keeps s from being NaN or ±0, where pmin/pmax
 * would differ from Math.min/Math.max.
 */
EXPORT(scalar_min_max)
void scalar_min_max(const float *x, float s, float *out, int n, enum scalar_op op) {
  const f4 sv = splat(s), zero = wasm_f32x4_const_splat(0.f);
  int i = 0;
  /* pmin/pmax return the first operand when either is NaN, like TF.js's min/max of x. */
  if (op == SCALAR_MIN)
    for (; i + 4 <= n; i += 4) st(out + i, wasm_f32x4_pmin(ld(x + i), sv));
  else if (op == SCALAR_MAX)
    for (; i + 4 <= n; i += 4) st(out + i, wasm_f32x4_pmax(ld(x + i), sv));
  else if (op == SCALAR_RELU)
    for (; i + 4 <= n; i += 4) st(out + i, wasm_f32x4_add(wasm_f32x4_pmax(ld(x + i), zero), zero));
  else
    for (; i + 4 <= n; i += 4) st(out + i, wasm_f32x4_pmin(wasm_f32x4_add(wasm_f32x4_pmax(ld(x + i), zero), zero), sv));
  for (; i < n; i++) {
    const float v = x[i], r = v > 0.f ? v : 0.f;
    out[i] = (v != v) ? v
           : op == SCALAR_MIN ? (v < s ? v : s)
           : op == SCALAR_MAX ? (v > s ? v : s)
           : op == SCALAR_RELU ? r
           : (r < s ? r : s);
  }
}

/*
 * out[r][c] = a[r][c] ∘ b[c] (or b[c] ∘ a[r][c] when `swap`), ∘ = + − × ÷ by `op` (enum
 * binary_op): a full tensor against a per-channel vector or a scalar (C = 1), the broadcasts of
 * BatchNorm statistics and of Adam's scalars, which TF.js's generic broadcast walks index by index.
 */
EXPORT(binary_rows)
void binary_rows(const float *a, const float *b, float *out, int R, int C, enum binary_op op, int swap) {
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
  /* One case per operation and operand order (+ and × commute). */
  switch (op * 2 + (swap ? 1 : 0)) {
    case 2 * BINARY_ADD: case 2 * BINARY_ADD + 1: LOOP(wasm_f32x4_add(av, bv), as + bs) break;
    case 2 * BINARY_SUB: LOOP(wasm_f32x4_sub(av, bv), as - bs) break;
    case 2 * BINARY_SUB + 1: LOOP(wasm_f32x4_sub(bv, av), bs - as) break;
    case 2 * BINARY_MUL: case 2 * BINARY_MUL + 1: LOOP(wasm_f32x4_mul(av, bv), as * bs) break;
    case 2 * BINARY_DIV: LOOP(wasm_f32x4_div(av, bv), as / bs) break;
    case 2 * BINARY_DIV + 1: LOOP(wasm_f32x4_div(bv, av), bs / as) break;
    default: break;
  }
#undef LOOP
}

/* dx = dy · (x · 2): Square's gradient in one pass, in TF.js's order of operations. */
EXPORT(square_grad)
void square_grad(const float *dy, const float *x, float *dx, int n) {
  const f4 two = splat(2.f);
  int i = 0;
  for (; i + 4 <= n; i += 4) st(dx + i, wasm_f32x4_mul(ld(dy + i), wasm_f32x4_mul(ld(x + i), two)));
  for (; i < n; i++) dx[i] = dy[i] * (x[i] * 2.f);
}
