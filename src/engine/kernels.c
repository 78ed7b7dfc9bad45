/* kernels.c — plain C kernels, the run-time choice of the SIMD ones, and the threaded matrix product.
 *
 * The plain versions are the definition the fast ones are tested against: keep them simple. The threaded
 * product splits weight rows over the pool (each row read once per call), or for long inputs converts
 * row tiles to f32 and hands them to BLAS; it never makes a full f32 copy of a weight.
 */
#include "engine/kernels.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

void qt_matmul_bf16_scalar(float *y, int ldy, const uint16_t *w, int cols, const float *x, int ldx, int n,
                           int r0, int r1)
{
    for (int r = r0; r < r1; r++) {
        const uint16_t *row = w + (size_t)r * cols;
        for (int l = 0; l < n; l++) {
            const float *xl = x + (size_t)l * ldx;
            float acc = 0.0f;
            for (int c = 0; c < cols; c++)
                acc += qt_bf16_to_f32(row[c]) * xl[c];
            y[(size_t)l * ldy + r] = acc;
        }
    }
}

static const qt_kernels k_scalar = {"scalar", qt_matmul_bf16_scalar};
static const qt_kernels k_avx2 = {"avx2", qt_matmul_bf16_avx2};
static const qt_kernels k_avx512 = {"avx512", qt_matmul_bf16_avx512};

const qt_kernels *qt_kernels_scalar(void)
{
    return &k_scalar;
}

const qt_kernels *qt_kernels_avx2(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &k_avx2;
#endif
    return NULL;
}

const qt_kernels *qt_kernels_avx512(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return &k_avx512;
#endif
    return NULL;
}

static const qt_kernels *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *want = getenv("VOICEBOX_KERNELS"); /* "scalar", "avx2" or "avx512": for tests and benches */
    const qt_kernels *a512 = qt_kernels_avx512(), *a2 = qt_kernels_avx2();
    chosen = a512 ? a512 : a2 ? a2 : &k_scalar;
    if (want && !strcmp(want, "scalar"))
        chosen = &k_scalar;
    else if (want && !strcmp(want, "avx2") && a2)
        chosen = a2;
}

const qt_kernels *qt_kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}

/* ---- threaded product ----------------------------------------------------------------------------------- */

typedef struct {
    const qt_mm *mats;
    int n_mats;
    int total_rows;
    int cols;
    const float *x;
    int ldx;
    int n;
    qt_matmul_bf16_fn fn;
} mm_job;

/* Task t takes a contiguous slice of the concatenated rows of all matrices (slices rounded to 16 rows). */
static void mm_task(void *ctx, int task, int n_tasks)
{
    const mm_job *j = ctx;
    int per = (j->total_rows + n_tasks - 1) / n_tasks;
    per = (per + 15) & ~15;
    int lo = task * per, hi = lo + per;
    if (hi > j->total_rows)
        hi = j->total_rows;
    int base = 0;
    for (int m = 0; m < j->n_mats && lo < hi; m++) {
        const qt_mm *mm = &j->mats[m];
        int a = lo - base, b = hi - base;
        if (a < 0)
            a = 0;
        if (b > mm->rows)
            b = mm->rows;
        if (a < b) {
            j->fn(mm->out, mm->ld, mm->w, j->cols, j->x, j->ldx, j->n, a, b);
            if (mm->bias)
                for (int l = 0; l < j->n; l++)
                    for (int r = a; r < b; r++)
                        mm->out[(size_t)l * mm->ld + r] += mm->bias[r];
        }
        base += mm->rows;
    }
}

#define GEMM_TILE_FLOATS (1 << 18) /* 1 MiB of f32 weights per BLAS call */

static void gemm_tiles(const qt_mm *mm, int cols, const float *x, int ldx, int n)
{
    int tile_rows = GEMM_TILE_FLOATS / cols;
    if (tile_rows < 1)
        tile_rows = 1;
    if (tile_rows > mm->rows)
        tile_rows = mm->rows;
    float *tile = malloc((size_t)tile_rows * cols * sizeof *tile);
    if (!tile) { /* no memory for a tile: fall back to the row kernel, slower but correct */
        qt_kernels_get()->matmul_bf16(mm->out, mm->ld, mm->w, cols, x, ldx, n, 0, mm->rows);
    } else {
        for (int r0 = 0; r0 < mm->rows; r0 += tile_rows) {
            int tr = mm->rows - r0 < tile_rows ? mm->rows - r0 : tile_rows;
            const uint16_t *src = mm->w + (size_t)r0 * cols;
            for (size_t i = 0; i < (size_t)tr * cols; i++)
                tile[i] = qt_bf16_to_f32(src[i]);
            /* out[l, r0+r] = sum_c x[l, c] * tile[r, c] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, tr, cols, 1.0f, x, ldx, tile, cols, 0.0f,
                        mm->out + r0, mm->ld);
        }
        free(tile);
    }
    if (mm->bias)
        for (int l = 0; l < n; l++)
            for (int r = 0; r < mm->rows; r++)
                mm->out[(size_t)l * mm->ld + r] += mm->bias[r];
}

void qt_matmul(qt_pool *pool, const qt_mm *mats, int n_mats, int cols, const float *x, int ldx, int n)
{
    if (n > QT_GEMM_MIN_N) {
        for (int m = 0; m < n_mats; m++)
            gemm_tiles(&mats[m], cols, x, ldx, n);
        return;
    }
    mm_job j = {mats, n_mats, 0, cols, x, ldx, n, qt_kernels_get()->matmul_bf16};
    for (int m = 0; m < n_mats; m++)
        j.total_rows += mats[m].rows;
    int threads = pool ? qt_pool_threads(pool) : 1;
    if (j.total_rows < 64 * threads) /* tiny products: not worth a dispatch */
        threads = 1;
    if (threads == 1)
        mm_task(&j, 0, 1);
    else
        qt_pool_run(pool, mm_task, &j, threads);
}

/* ---- small kernels -------------------------------------------------------------------------------------- */

void qt_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    float ss = 0.0f;
    for (int i = 0; i < n; i++)
        ss += x[i] * x[i];
    float s = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = 0; i < n; i++)
        out[i] = w[i] * (x[i] * s);
}

void qt_rope_inv_freq(float *inv_freq, int head_dim, float theta)
{
    for (int i = 0; i < head_dim / 2; i++)
        inv_freq[i] = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
}

void qt_rope(float *x, int n_heads, int head_dim, int pos, const float *inv_freq)
{
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        float f = (float)pos * inv_freq[i]; /* f32 product, as the reference's outer product */
        float c = cosf(f), s = sinf(f);
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (size_t)h * head_dim;
            float a = v[i], b = v[i + half];
            v[i] = a * c - b * s;
            v[i + half] = b * c + a * s;
        }
    }
}

void qt_softmax(float *x, int n)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++)
        x[i] *= inv;
}

void qt_swiglu(float *g, const float *u, int n)
{
    for (int i = 0; i < n; i++)
        g[i] = qt_silu(g[i]) * u[i];
}
