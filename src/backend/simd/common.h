/*
 * What every kernel file of the SIMD module shares: 4-lane float vectors and the loops built on
 * them. The module (`npm run build:wasm`, build.mjs: clang --target=wasm32 -msimd128, one
 * translation unit per family, into binary.ts) exports the functions marked EXPORT; heap.ts
 * declares each one's TypeScript signature.
 *
 * The module imports its memory. On the 'wasm' backend that memory is TF.js's own heap, so
 * these functions read and write tensors in place; pointers are byte offsets into it. That is
 * only safe because nothing here uses linear memory of its own: no globals, no static data, no
 * address-taken locals (so clang never touches the shadow stack). build.mjs checks the binary
 * for that. On the 'cpu' backend the module gets a private memory and the caller copies in/out.
 */
#ifndef COMMON_H
#define COMMON_H

#include <wasm_simd128.h>

#include "ops.h"
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

static inline void fill0(float *p, int n) {
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

/* v − v is NaN for ±inf and NaN, 0 otherwise. */
static inline int is_finite(float v) { return v - v == 0.f; }

#endif
