// The codes of ops.h, which the kernels take in their `op` and `flags` arguments. Must match
// ops.h: ops.test.ts parses the header and checks every value here against it.

/** binary_rows: out = a ∘ b (C `enum binary_op`, `BINARY_*`). */
export enum BinaryOp {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
}

/** scalar_min_max: min(x, s), max(x, s), or a conv's fused activation (C `enum scalar_op`, `SCALAR_*`). */
export enum ScalarOp {
  Min = 0,
  Max = 1,
  Relu = 2,
  /** min(relu(x), s), s = 6. */
  Relu6 = 3,
}

/** mask_grad's flags, or-ed (C `enum mask_flag`, `MASK_*`). */
export enum MaskFlag {
  /** Neither end: (lo, hi), and 0 at NaN. */
  Open = 0,
  /** The interval includes lo. */
  LoClosed = 1,
  /** The interval includes hi. */
  HiClosed = 2,
  /** NaN in x gives NaN in dx (TF.js's step(x) at NaN), not 0. */
  NanPropagates = 4,
}
