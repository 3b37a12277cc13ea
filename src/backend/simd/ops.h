/*
 * The codes TypeScript passes in the kernels' `op` and `flags` arguments. ops.ts mirrors this
 * file and ops.test.ts checks the two against each other: change them together.
 */
#ifndef OPS_H
#define OPS_H

/* binary_rows: out = a ∘ b. */
enum binary_op { BINARY_ADD = 0, BINARY_SUB = 1, BINARY_MUL = 2, BINARY_DIV = 3 };

/* scalar_min_max: out = min(x, s), max(x, s), or a conv's fused activation (relu, relu6 = min(relu(x), s)). */
enum scalar_op { SCALAR_MIN = 0, SCALAR_MAX = 1, SCALAR_RELU = 2, SCALAR_RELU6 = 3 };

/* mask_grad: the ends that belong to the interval (lo, hi), and whether NaN in x gives NaN. */
enum mask_flag { MASK_OPEN = 0, MASK_LO_CLOSED = 1, MASK_HI_CLOSED = 2, MASK_NAN_PROPAGATES = 4 };

#endif
