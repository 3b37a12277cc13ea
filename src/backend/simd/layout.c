/* Slice and PadV2: rows copied with memcpy and padding filled, no per-element index arithmetic. */
#include "common.h"

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
