/* wh_ops.h — Whisper's numeric steps (wh_ops.c): linear layers through BLAS split over the pool, LayerNorm
 * (eps 1e-5, statistics in double), exact GELU, softmax. Nothing here knows the model's layout. */
#ifndef WH_OPS_H
#define WH_OPS_H

#include "whisper/wh_internal.h"

/* OpenBLAS to one thread for the pool's tasks; returns what to restore with wh_blas_end. */
int wh_blas_begin(void);
void wh_blas_end(int saved);

/* How many of the pool's threads `work` multiply-adds are worth (1: run on the caller). */
int wh_tasks_for(const qt_pool *pool, double work);

/* y[n, rows] = x[n, cols] . W^T + b  (ldx, ldy: row strides) */
void wh_linear_fwd(qt_pool *pool, const wh_linear *l, const float *x, int ldx, int n, float *y, int ldy);
void wh_layernorm(qt_pool *pool, const wh_norm *ln, const float *x, float *y, int n, int d);
void wh_gelu(qt_pool *pool, float *x, size_t n);
void wh_softmax(float *x, int n);        /* in place, max-subtracted: the AVX2 version where the CPU has it */
void wh_softmax_scalar(float *x, int n); /* libm's expf */
void wh_softmax_avx2(float *x, int n);   /* a degree-7 polynomial exp, 8 lanes (wh_softmax_avx2.c) */

#endif
