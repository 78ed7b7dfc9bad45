/* kernels.c — plain C kernels, the run-time choice of the SIMD ones, and the threaded matrix product.
 *
 * The plain versions are the definition the fast ones are tested against: keep them simple. The threaded
 * product splits weight rows over the pool (each row read once per call), or for long inputs converts
 * row tiles to f32 and hands them to BLAS; it never makes a full f32 copy of a weight.
 */
#include "engine/kernels.h"
#include "engine/qt.h"

#include "engine/quant.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

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

uint64_t qt_read_scalar(const void *p, size_t n_bytes)
{
    const uint64_t *q = p;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < n_bytes / 8; i += 4) {
        a ^= q[i];
        b ^= q[i + 1];
        c ^= q[i + 2];
        d ^= q[i + 3];
    }
    return a ^ b ^ c ^ d;
}

/* q . k over n floats as 16 partial sums added in a fixed tree, so the compiler can keep them in one vector
 * register (one chain of n dependent adds ran several times slower). */
static float dot16(const float *restrict q, const float *restrict k, int n)
{
    float acc[16] = {0};
    int e = 0;
    for (; e + 16 <= n; e += 16)
        for (int u = 0; u < 16; u++)
            acc[u] += q[e + u] * k[e + u];
    for (int u = 0; e < n; e++, u++)
        acc[u] += q[e] * k[e];
    for (int w = 8; w > 0; w /= 2)
        for (int u = 0; u < w; u++)
            acc[u] += acc[u + w];
    return acc[0];
}

/* o += a * v over n floats (o and v never overlap). */
static void axpy(float *restrict o, float a, const float *restrict v, int n)
{
    for (int e = 0; e < n; e++)
        o[e] += a * v[e];
}

void qt_attn_scores_scalar(float *scores, const float *q, int G, const float *k, int ld, int len, int hd,
                           float scale)
{
    for (int p = 0; p < len; p++)
        for (int g = 0; g < G; g++)
            scores[(size_t)g * len + p] = dot16(q + (size_t)g * hd, k + (size_t)p * ld, hd) * scale;
}

void qt_attn_values_scalar(float *o, const float *scores, int G, const float *v, int ld, int len, int hd)
{
    memset(o, 0, sizeof(float) * (size_t)G * hd);
    for (int p = 0; p < len; p++)
        for (int g = 0; g < G; g++)
            axpy(o + (size_t)g * hd, scores[(size_t)g * len + p], v + (size_t)p * ld, hd);
}

static const qt_kernels k_scalar = {"scalar", qt_matmul_bf16_scalar, qt_read_scalar, qt_attn_scores_scalar,
                                    qt_attn_values_scalar};
static const qt_kernels k_avx2 = {"avx2", qt_matmul_bf16_avx2, qt_read_avx2, qt_attn_scores_avx2,
                                  qt_attn_values_avx2};
static const qt_kernels k_avx512 = {"avx512", qt_matmul_bf16_avx512, qt_read_avx512, qt_attn_scores_avx512,
                                    qt_attn_values_avx512};

const qt_kernels *qt_kernels_scalar(void)
{
    return &k_scalar;
}

const qt_kernels *qt_kernels_avx2(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &k_avx2;
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

void qt_attend(float *o, const float *q, int G, const float *k, const float *v, int ld, int len, int hd,
               float scale, float *scores)
{
    const qt_kernels *kn = hd % 16 ? &k_scalar : qt_kernels_get();
    kn->attn_scores(scores, q, G, k, ld, len, hd, scale);
    for (int g = 0; g < G; g++)
        qt_softmax(scores + (size_t)g * len, len);
    kn->attn_values(o, scores, G, v, ld, len, hd);
}

/* ---- threaded product -----------------------------------------------------------------------------------
 */

typedef struct {
    const qt_mm *mats;
    int n_mats;
    int total_rows;
    int cols;
    const float *x;
    int ldx;
    int n;
    qt_matmul_bf16_fn fn;
    const qt_q8_act *act; /* x quantized, for the int8 matrices */
    qt_matmul_q8_fn q8fn;
    int chunk;       /* rows per grab */
    atomic_int next; /* first row of the concatenated row space not yet taken */
} mm_job;

/* Rows [lo, hi) of the concatenated rows of all matrices. */
static void mm_rows(const mm_job *j, int lo, int hi)
{
    int base = 0;
    for (int m = 0; m < j->n_mats && lo < hi; m++) {
        const qt_mm *mm = &j->mats[m];
        int a = lo - base, b = hi - base;
        if (a < 0) a = 0;
        if (b > mm->rows) b = mm->rows;
        if (a < b) {
            if (mm->q8)
                j->q8fn(mm->out, mm->ld, mm->q8, j->act, a, b);
            else
                j->fn(mm->out, mm->ld, mm->w, j->cols, j->x, j->ldx, j->n, a, b);
            if (mm->bias)
                for (int l = 0; l < j->n; l++)
                    for (int r = a; r < b; r++)
                        mm->out[(size_t)l * mm->ld + r] += mm->bias[r];
        }
        base += mm->rows;
    }
}

/* Every thread takes chunks of rows until none are left, so a thread the OS delays does not hold the others
 * back by a whole static share. */
static void mm_task(void *ctx, int task, int n_tasks)
{
    (void)task;
    (void)n_tasks;
    mm_job *j = ctx;
    for (;;) {
        int lo = atomic_fetch_add_explicit(&j->next, j->chunk, memory_order_relaxed);
        if (lo >= j->total_rows) break;
        mm_rows(j, lo, lo + j->chunk < j->total_rows ? lo + j->chunk : j->total_rows);
    }
}

#define GEMM_TILE_FLOATS (1 << 16) /* 256 KiB of f32 weights per BLAS call: stays in L2 */
#define GEMM_MAX_THREADS 64
#define MM_MIN_ROWS_PER_THREAD                                                                               \
    64                        /* fewer rows per thread: one thread, a dispatch costs more than it saves      \
                               */
#define MM_GRABS_PER_THREAD 8 /* row chunks each thread takes, so a slow thread delays the end little */
#define MM_CHUNK_ROWS 16      /* chunks are multiples of this many rows */
#define BW_MAX_THREADS 64     /* bw_job.sums entries */
#define BW_PASSES 5           /* the best of these many reads is the bandwidth */

typedef struct {
    const qt_mm *mats;
    int n_mats, cols, ldx, n, tile_rows, n_tiles;
    const float *x;
    float *tiles; /* [threads][GEMM_TILE_FLOATS] */
    int threads;
} gemm_job;

/* Task = one tile of tile_rows rows of one matrix: convert to f32 in this thread's buffer, then sgemm. */
static void gemm_task(void *ctx, int task, int n_tasks)
{
    (void)n_tasks;
    const gemm_job *j = ctx;
    int m = 0, t = task;
    for (; m < j->n_mats; m++) {
        int tiles = (j->mats[m].rows + j->tile_rows - 1) / j->tile_rows;
        if (t < tiles) break;
        t -= tiles;
    }
    const qt_mm *mm = &j->mats[m];
    int r0 = t * j->tile_rows, tr = mm->rows - r0 < j->tile_rows ? mm->rows - r0 : j->tile_rows;
    float *tile = j->tiles + (size_t)(task % j->threads) * GEMM_TILE_FLOATS;
    if (mm->q8) {
        qt_q8_dequant_rows(mm->q8, r0, tr, tile);
    } else {
        const uint16_t *src = mm->w + (size_t)r0 * j->cols;
        for (size_t i = 0; i < (size_t)tr * j->cols; i++)
            tile[i] = qt_bf16_to_f32(src[i]);
    }
    /* out[l, r0+r] = sum_c x[l, c] * tile[r, c] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->n, tr, j->cols, 1.0f, j->x, j->ldx, tile, j->cols,
                0.0f, mm->out + r0, mm->ld);
    if (mm->bias)
        for (int l = 0; l < j->n; l++)
            for (int r = r0; r < r0 + tr; r++)
                mm->out[(size_t)l * mm->ld + r] += mm->bias[r];
}

/* Long inputs: BLAS on f32 tiles converted on the fly, the tiles spread over the pool's threads, BLAS itself
 * single-threaded meanwhile (its own threads would fight ours for the same cores). Returns -1 when the tile
 * buffers cannot be allocated (the caller falls back to the row kernel). */
static int gemm_tiles(qt_pool *pool, const qt_mm *mats, int n_mats, int cols, const float *x, int ldx, int n)
{
    int threads = pool ? qt_pool_threads(pool) : 1;
    if (threads > GEMM_MAX_THREADS) threads = GEMM_MAX_THREADS;
    gemm_job j = {mats, n_mats, cols, ldx, n, GEMM_TILE_FLOATS / cols, 0, x, NULL, threads};
    if (j.tile_rows < 1) return -1;
    for (int m = 0; m < n_mats; m++)
        j.n_tiles += (mats[m].rows + j.tile_rows - 1) / j.tile_rows;
    if (!(j.tiles = malloc(sizeof(float) * GEMM_TILE_FLOATS * (size_t)threads))) return -1;
    int blas_threads = openblas_get_num_threads();
    if (blas_threads != 1) openblas_set_num_threads(1);
    if (threads > 1)
        qt_pool_run(pool, gemm_task, &j, j.n_tiles);
    else
        for (int t = 0; t < j.n_tiles; t++)
            gemm_task(&j, t, j.n_tiles);
    if (blas_threads != 1) openblas_set_num_threads(blas_threads);
    free(j.tiles);
    return 0;
}

void qt_matmul(qt_pool *pool, const qt_mm *mats, int n_mats, int cols, const float *x, int ldx, int n)
{
    if (n > QT_GEMM_MIN_N && gemm_tiles(pool, mats, n_mats, cols, x, ldx, n) == 0) return;
    qt_q8_act act = {0};
    mm_job j = {
        mats, n_mats, 0, cols, x, ldx, n, qt_kernels_get()->matmul_bf16, &act, qt_q8_kernels_get()->matmul,
        0,    0};
    int any_q8 = 0;
    for (int m = 0; m < n_mats; m++) {
        j.total_rows += mats[m].rows;
        any_q8 |= mats[m].q8 != NULL;
    }
    /* Out of memory for the quantized activations (a few KiB): the int8 matrices go through their
     * dequantized tiles instead, which need no quantized x. */
    if (any_q8 && qt_q8_act_quantize(&act, x, ldx, cols, n)) {
        gemm_tiles(pool, mats, n_mats, cols, x, ldx, n);
        return;
    }
    int threads = pool ? qt_pool_threads(pool) : 1;
    if (j.total_rows < MM_MIN_ROWS_PER_THREAD * threads) threads = 1;
    if (threads == 1) {
        mm_rows(&j, 0, j.total_rows);
    } else {
        j.chunk = (j.total_rows / (threads * MM_GRABS_PER_THREAD) + MM_CHUNK_ROWS - 1) & ~(MM_CHUNK_ROWS - 1);
        if (j.chunk < MM_CHUNK_ROWS) j.chunk = MM_CHUNK_ROWS;
        atomic_init(&j.next, 0);
        qt_pool_run(pool, mm_task, &j, threads);
    }
    qt_q8_act_free(&act);
}

/* ---- read bandwidth -------------------------------------------------------------------------------------
 */

typedef struct {
    const uint8_t *buf;
    size_t bytes;
    uint64_t sums[BW_MAX_THREADS];
} bw_job;

static void bw_task(void *ctx, int task, int n_tasks)
{
    bw_job *j = ctx;
    size_t per = (j->bytes / (size_t)n_tasks) & ~(size_t)63;
    j->sums[task % BW_MAX_THREADS] ^= qt_kernels_get()->read(j->buf + per * (size_t)task, per);
}

double qt_measure_read_bandwidth(qt_pool *pool, size_t bytes)
{
    bytes &= ~(size_t)4095;
    uint8_t *buf = NULL;
    if (posix_memalign((void **)&buf, 64, bytes)) return 0;
    for (size_t i = 0; i < bytes; i++)
        buf[i] = (uint8_t)(i * 131u);
    bw_job j = {buf, bytes, {0}};
    int threads = pool ? qt_pool_threads(pool) : 1;
    if (threads > BW_MAX_THREADS) threads = BW_MAX_THREADS;
    double best = 0;
    for (int pass = 0; pass < BW_PASSES; pass++) {
        double t0 = (qt_now_ms() / 1e3);
        if (pool)
            qt_pool_run(pool, bw_task, &j, threads);
        else
            bw_task(&j, 0, 1);
        double dt = (qt_now_ms() / 1e3) - t0;
        double bw = (double)((bytes / (size_t)threads) & ~(size_t)63) * threads / dt;
        if (bw > best) best = bw;
    }
    volatile uint64_t sink = j.sums[0]; /* keep the reads */
    (void)sink;
    free(buf);
    return best;
}

/* ---- small kernels --------------------------------------------------------------------------------------
 */

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
        if (x[i] > mx) mx = x[i];
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
