/*
 * The matrix products that 1x1 convolutions (stride 1, no padding) reduce to, over R = N·H·W
 * rows of NHWC tensors; conv2d.c calls them.
 */
#ifndef GEMM_H
#define GEMM_H

/* y[r][co] = sum_ci x[r][ci] · w[ci][co] (the forward). */
void gemm_nn(const float *x, const float *w, float *y, int R, int Ci, int Co);
/* dx[r][ci] = sum_co dy[r][co] · w[ci][co] (the input gradient). */
void gemm_nt(const float *dy, const float *w, float *dx, int R, int Ci, int Co);
/* dw[ci][co] += sum_r x[r][ci] · dy[r][co] (the filter gradient). */
void gemm_tn_acc(const float *x, const float *dy, float *dw, int R, int Ci, int Co);

#endif
