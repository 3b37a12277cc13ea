/* One Adam step for one variable (kernels/adam.ts). */
#include "common.h"

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
