/* quant.h — group-wise symmetric int8 weights and activations, and the int8 matrix-vector kernels.
 *
 * A weight row is cut into groups of QT_Q8_GROUP columns along the input dimension (the last group
 * zero-padded), each with one f32 scale: w ≈ scale * q, q in [-127, 127]. q is stored offset by 128
 * (u8 = q + 128) because VNNI's vpdpbusd multiplies unsigned by signed bytes; the activation side pays the
 * offset back once per step (corr below). An activation vector is quantized per step more finely, with one
 * scale per lane of 4 columns: its scales cost no bytes read, and one per lane takes the activation's share
 * of the rounding error to a fraction of the weights' (the 1.7B talker's top-1 agreement with bf16 went from
 * 94 to 96 %, tests/test_precision.c).
 *
 * Exactness: every kernel computes, for each group, the 16 integer "lane" sums of 4 consecutive products
 * (exact int32), then acc[l] = fma((float)lane[l], w_scale * x_scale[l], acc[l]) group after group, and adds
 * the 16 lanes in one fixed tree. The plain C version is that definition; the AVX2 and AVX-512 VNNI versions
 * give the same bits (tests/test_quant.c). Nothing here knows about the model.
 */
#ifndef QT_QUANT_H
#define QT_QUANT_H

#include "engine/threadpool.h"

#include <stddef.h>
#include <stdint.h>

#define QT_Q8_GROUP 64 /* columns per weight scale: 16 lanes of 4 bytes, one 512-bit register */
#define QT_Q8_LANES 16 /* lanes per group, each 4 columns with its own activation scale */

/* A quantized matrix: rows x cols, each row padded to groups * QT_Q8_GROUP bytes. */
typedef struct qt_q8 {
    int rows, cols, groups;
    uint8_t *w;   /* [rows, groups * QT_Q8_GROUP] q + 128, 64-byte aligned */
    float *scale; /* [rows, groups] */
    int borrowed; /* w and scale point into a weights cache's mapping (q8_cache.h): not freed here */
} qt_q8;

/* A batch of n quantized activation vectors of the same padded width. */
typedef struct {
    int n, cols, groups;
    int8_t *q;     /* [n, groups * QT_Q8_GROUP] */
    float *scale;  /* [n, groups, QT_Q8_LANES]: one per lane of 4 columns */
    int32_t *corr; /* [n, groups, 16]: -128 * the lane sums of q (undoes the weights' +128 in vpdpbusd) */
} qt_q8_act;

/* Quantizes a bf16 [rows, cols] matrix into q (allocated here), rows split over the pool. */
int qt_q8_from_bf16(qt_q8 *q, const uint16_t *w, int rows, int cols, qt_pool *pool);
void qt_q8_free(qt_q8 *q);          /* frees what q holds; NULL is fine */
size_t qt_q8_bytes(const qt_q8 *q); /* bytes one pass over q reads (weights and scales) */
/* out [n, cols] = the dequantized rows r0..r0+n-1 (scale * q), for the prefill's BLAS tiles, with the best
 * kernel this CPU runs (every version gives the same floats: one product each). */
void qt_q8_dequant_rows(const qt_q8 *q, int r0, int n, float *out);
typedef void (*qt_q8_dequant_fn)(const qt_q8 *q, int r0, int n, float *out);
void qt_q8_dequant_rows_scalar(const qt_q8 *q, int r0, int n, float *out);
void qt_q8_dequant_rows_avx512(const qt_q8 *q, int r0, int n, float *out);

/* Quantizes n vectors x[l*ldx .. +cols) into a (whose buffers are grown as needed; free with
 * qt_q8_act_free). -1 when out of memory. */
int qt_q8_act_quantize(qt_q8_act *a, const float *x, int ldx, int cols, int n);
void qt_q8_act_free(qt_q8_act *a);

/* y[l*ldy + r] = row r of w . activation l, for rows [r0, r1) and all a->n vectors. */
typedef void (*qt_matmul_q8_fn)(float *y, int ldy, const qt_q8 *w, const qt_q8_act *a, int r0, int r1);

void qt_matmul_q8_scalar(float *y, int ldy, const qt_q8 *w, const qt_q8_act *a, int r0, int r1);
void qt_matmul_q8_avx2(float *y, int ldy, const qt_q8 *w, const qt_q8_act *a, int r0, int r1);
void qt_matmul_q8_vnni(float *y, int ldy, const qt_q8 *w, const qt_q8_act *a, int r0, int r1);

/* One bf16 row of cols values -> groups of q + 128 (dst, groups * QT_Q8_GROUP bytes) and their scales.
 * Every version gives the same bytes and scales (quantize_group in quant.c is the definition). */
typedef void (*qt_quantize_row_fn)(const uint16_t *src, int cols, int groups, uint8_t *dst, float *scale);

void qt_quantize_row_scalar(const uint16_t *src, int cols, int groups, uint8_t *dst, float *scale);
void qt_quantize_row_avx512(const uint16_t *src, int cols, int groups, uint8_t *dst, float *scale);

/* One activation vector of cols floats -> its groups' q (groups * QT_Q8_GROUP bytes), lane scales
 * (groups * QT_Q8_LANES) and corrections (groups * 16), as qt_q8_act holds them. Every version gives the same
 * bytes and floats (quantize_span in quant.c is the definition). */
typedef void (*qt_quantize_act_fn)(const float *x, int cols, int groups, int8_t *q, float *scale,
                                   int32_t *corr);

void qt_quantize_act_scalar(const float *x, int cols, int groups, int8_t *q, float *scale, int32_t *corr);
void qt_quantize_act_avx512(const float *x, int cols, int groups, int8_t *q, float *scale, int32_t *corr);

typedef struct {
    const char *name; /* "scalar", "avx2", "avx512-vnni" */
    qt_matmul_q8_fn matmul;
    qt_quantize_row_fn quantize_row;
    qt_quantize_act_fn quantize_act;
    qt_q8_dequant_fn dequant_rows;
} qt_q8_kernels;

/* The best this CPU runs, chosen once ($VOICEBOX_KERNELS=scalar|avx2 forces a slower one). */
const qt_q8_kernels *qt_q8_kernels_get(void);
const qt_q8_kernels *qt_q8_kernels_scalar(void);
const qt_q8_kernels *qt_q8_kernels_avx2(void); /* NULL without AVX2 */
const qt_q8_kernels *qt_q8_kernels_vnni(void); /* NULL without AVX-512 F/BW/VL and VNNI */

/* The 16 lanes of one row's accumulator added in the fixed order every kernel uses. */
static inline float qt_q8_reduce16(float *acc)
{
    for (int h = 8; h > 0; h /= 2)
        for (int i = 0; i < h; i++)
            acc[i] += acc[i + h];
    return acc[0];
}

#endif
