/* kernels.h — the engine's numeric kernels: bf16-weight matrix products, RMSNorm, RoPE, softmax, SiLU.
 *
 * Weights stay bf16 inside the mmap'd model file; activations are f32. The hot kernel (bf16 matrix times a
 * few f32 vectors) has a plain C version and AVX2 / AVX-512 versions behind one function pointer chosen
 * once at start-up (qt_kernels_get); the plain version stays and tests/test_kernels.c checks the fast ones
 * against it. Long prefills go through BLAS sgemm on small bf16->f32 tiles (never a full f32 copy).
 * Nothing here knows about the model; nothing here allocates except the GEMM tile buffer.
 */
#ifndef QT_KERNELS_H
#define QT_KERNELS_H

#include "engine/threadpool.h"

#include <stdint.h>
#include <string.h>

static inline float qt_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Round to nearest even (NaN stays NaN); for tests and tools that make bf16 data. */
static inline uint16_t qt_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* y[l*ldy + r] = sum_c w[r*cols + c] * x[l*ldx + c]  for rows r in [r0, r1) and vectors l in [0, n).
 * w is [rows, cols] row-major bf16 (2-byte aligned, otherwise any alignment). Each weight row is read once
 * for all n vectors. */
typedef void (*qt_matmul_bf16_fn)(float *y, int ldy, const uint16_t *w, int cols, const float *x, int ldx,
                                  int n, int r0, int r1);

/* Reads n_bytes (a multiple of 64) and returns a value that depends on all of them: the memory-read loop the
 * benchmark measures the machine's bandwidth with. */
typedef uint64_t (*qt_read_fn)(const void *p, size_t n_bytes);

/* Attention of the G query heads that share one KV head, over cache positions p < len, in two kernels
 * around a softmax: scores[g*len + p] = q[g] . k[p] * scale, then o[g] = sum over p of scores[g*len + p] *
 * v[p]. q and o hold G vectors of hd floats (contiguous); k[p] = k + p * ld, v[p] = v + p * ld. Each K and V
 * row is read once for all G heads (grouped-query attention: the heads of a group share them). The SIMD
 * versions take hd a multiple of 16 (qt_attend sends other widths to the plain ones). */
typedef void (*qt_attn_scores_fn)(float *scores, const float *q, int G, const float *k, int ld, int len,
                                  int hd, float scale);
typedef void (*qt_attn_values_fn)(float *o, const float *scores, int G, const float *v, int ld, int len,
                                  int hd);

typedef struct {
    const char *name; /* "scalar", "avx2", "avx512" */
    qt_matmul_bf16_fn matmul_bf16;
    qt_read_fn read;
    qt_attn_scores_fn attn_scores;
    qt_attn_values_fn attn_values;
} qt_kernels;

const qt_kernels *
qt_kernels_get(void); /* the best this CPU runs; chosen once ($VOICEBOX_KERNELS overrides) */
const qt_kernels *qt_kernels_scalar(void);
const qt_kernels *qt_kernels_avx2(void);   /* NULL when the CPU (or the build) lacks AVX2+FMA+F16C */
const qt_kernels *qt_kernels_avx512(void); /* NULL when the CPU (or the build) lacks AVX-512 F/BW/VL/DQ */

void qt_matmul_bf16_scalar(float *y, int ldy, const uint16_t *w, int cols, const float *x, int ldx, int n,
                           int r0, int r1);
void qt_matmul_bf16_avx2(float *y, int ldy, const uint16_t *w, int cols, const float *x, int ldx, int n,
                         int r0, int r1);
void qt_matmul_bf16_avx512(float *y, int ldy, const uint16_t *w, int cols, const float *x, int ldx, int n,
                           int r0, int r1);

void qt_attn_scores_scalar(float *scores, const float *q, int G, const float *k, int ld, int len, int hd,
                           float scale);
void qt_attn_scores_avx2(float *scores, const float *q, int G, const float *k, int ld, int len, int hd,
                         float scale);
void qt_attn_scores_avx512(float *scores, const float *q, int G, const float *k, int ld, int len, int hd,
                           float scale);
void qt_attn_values_scalar(float *o, const float *scores, int G, const float *v, int ld, int len, int hd);
void qt_attn_values_avx2(float *o, const float *scores, int G, const float *v, int ld, int len, int hd);
void qt_attn_values_avx512(float *o, const float *scores, int G, const float *v, int ld, int len, int hd);

/* o[g] = softmax(q[g] . k[p] * scale over p) . v for the G heads of one group, with the best kernels for hd;
 * scores is scratch for G * len floats. */
void qt_attend(float *o, const float *q, int G, const float *k, const float *v, int ld, int len, int hd,
               float scale, float *scores);

uint64_t qt_read_scalar(const void *p, size_t n_bytes);
uint64_t qt_read_avx2(const void *p, size_t n_bytes);
uint64_t qt_read_avx512(const void *p, size_t n_bytes);

/* The machine's read bandwidth in bytes per second over `bytes` of memory (well above the caches) with the
 * pool's threads: the best of a few passes. 0 when the buffer cannot be allocated. */
double qt_measure_read_bandwidth(qt_pool *pool, size_t bytes);

/* Software prefetch for the decode-step kernels (kernels_*.c, quant_*.c), which stream weight rows that the
 * hardware prefetcher alone kept too few of in flight (engine.md §4.4): the cache line at p in each of four
 * rows stride_bytes apart, and the lines of n floats from p. */
static inline void qt_prefetch_rows4(const void *p, size_t stride_bytes)
{
    const char *c = p;
    __builtin_prefetch(c, 0, 3);
    __builtin_prefetch(c + stride_bytes, 0, 3);
    __builtin_prefetch(c + 2 * stride_bytes, 0, 3);
    __builtin_prefetch(c + 3 * stride_bytes, 0, 3);
}

static inline void qt_prefetch_floats(const float *p, int n)
{
    for (int c = 0; c < n; c += 16)
        __builtin_prefetch(p + c, 0, 3);
}

/* One matrix of a fused product: out[l*ld + r] = W[r,:] . x[l] (+ bias[r] when bias is not NULL). */
typedef struct {
    const uint16_t *w; /* [rows, cols] bf16 (unused when q8 is set) */
    const float *bias; /* [rows] or NULL */
    float *out;
    int rows;
    int ld;
    const struct qt_q8 *q8; /* when not NULL: W in int8 (quant.h); x is quantized once per call */
} qt_mm;

/* Products of up to 4 matrices sharing the input x ([n, cols], row stride ldx), rows split over the pool's
 * threads in one dispatch. n above QT_GEMM_MIN_N goes through BLAS on bf16->f32 (or int8->f32) tiles
 * instead. */
#define QT_GEMM_MIN_N 16
void qt_matmul(qt_pool *pool, const qt_mm *mats, int n_mats, int cols, const float *x, int ldx, int n);

/* out = x / sqrt(mean(x^2) + eps) * w  (out may alias x) */
void qt_rmsnorm(float *out, const float *x, const float *w, int n, float eps);

/* inv_freq[i] = 1 / theta^(2i/head_dim), i < head_dim/2, computed in f32 as the reference does. */
void qt_rope_inv_freq(float *inv_freq, int head_dim, float theta);

/* NeoX rotate-half RoPE on n_heads vectors of head_dim at position pos (element j pairs with j+head_dim/2).
 */
void qt_rope(float *x, int n_heads, int head_dim, int pos, const float *inv_freq);

void qt_softmax(float *x, int n);                /* in place, max-subtracted, f32 */
void qt_swiglu(float *g, const float *u, int n); /* g = silu(g) * u */
static inline float qt_silu(float x)
{
    return x / (1.0f + __builtin_expf(-x));
}

#endif
