/* wh_ops.c — Whisper's numeric steps over the engine's thread pool: linear layers through BLAS, LayerNorm,
 * exact (erf) GELU.
 *
 * Callers hold OpenBLAS at one thread (wh_blas_begin/end) so the pool's tasks, each one sgemm on its share,
 * do not fight BLAS's own threads for the cores. A product of many rows is split by rows; one of a few rows
 * (a decoder step) by output features, so each thread streams its own part of the weights.
 */
#include "whisper/wh_ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Tasks for `work` multiply-adds: a dispatch costs microseconds, and far more when a worker has lost its core
 * on a busy machine, so small steps (a tiny model's, a decoder step's norms) run on the calling thread. */
#define MIN_TASK_WORK (64.0 * 1024)

int wh_tasks_for(const qt_pool *pool, double work)
{
    int threads = qt_pool_threads(pool), t = (int)(work / MIN_TASK_WORK);
    return t < 1 ? 1 : t < threads ? t : threads;
}

int wh_blas_begin(void)
{
    int n = openblas_get_num_threads();
    if (n != 1) openblas_set_num_threads(1);
    return n;
}

void wh_blas_end(int n)
{
    if (n != 1) openblas_set_num_threads(n);
}

typedef struct {
    const wh_linear *l;
    const float *x;
    float *y;
    int ldx, ldy, n;
    bool by_rows;
} linear_job;

static void linear_task(void *ctx, int task, int n_tasks)
{
    const linear_job *j = ctx;
    const wh_linear *l = j->l;
    int total = j->by_rows ? j->n : l->rows;
    int lo = (int)((int64_t)total * task / n_tasks), hi = (int)((int64_t)total * (task + 1) / n_tasks);
    if (hi <= lo) return;
    if (j->by_rows) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, hi - lo, l->rows, l->cols, 1.0f,
                    j->x + (size_t)lo * j->ldx, j->ldx, l->w, l->cols, 0.0f, j->y + (size_t)lo * j->ldy,
                    j->ldy);
        if (l->b)
            for (int r = lo; r < hi; r++)
                for (int c = 0; c < l->rows; c++)
                    j->y[(size_t)r * j->ldy + c] += l->b[c];
    } else if (j->n == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, hi - lo, l->cols, 1.0f, l->w + (size_t)lo * l->cols, l->cols,
                    j->x, 1, 0.0f, j->y + lo, 1);
        if (l->b)
            for (int c = lo; c < hi; c++)
                j->y[c] += l->b[c];
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->n, hi - lo, l->cols, 1.0f, j->x, j->ldx,
                    l->w + (size_t)lo * l->cols, l->cols, 0.0f, j->y + lo, j->ldy);
        if (l->b)
            for (int r = 0; r < j->n; r++)
                for (int c = lo; c < hi; c++)
                    j->y[(size_t)r * j->ldy + c] += l->b[c];
    }
}

void wh_linear_fwd(qt_pool *pool, const wh_linear *l, const float *x, int ldx, int n, float *y, int ldy)
{
    int threads = qt_pool_threads(pool);
    linear_job j = {.l = l, .x = x, .y = y, .ldx = ldx, .ldy = ldy, .n = n, .by_rows = n >= 16 * threads};
    qt_pool_run(pool, linear_task, &j, wh_tasks_for(pool, (double)n * l->rows * l->cols));
}

typedef struct {
    const wh_norm *ln;
    const float *x;
    float *y;
    int n, d;
} norm_job;

static void norm_task(void *ctx, int task, int n_tasks)
{
    const norm_job *j = ctx;
    int lo = j->n * task / n_tasks, hi = j->n * (task + 1) / n_tasks;
    for (int r = lo; r < hi; r++) {
        const float *x = j->x + (size_t)r * j->d;
        float *y = j->y + (size_t)r * j->d;
        double s = 0, s2 = 0;
        for (int i = 0; i < j->d; i++)
            s += x[i];
        double mean = s / j->d;
        for (int i = 0; i < j->d; i++)
            s2 += (x[i] - mean) * (x[i] - mean);
        double inv = 1.0 / sqrt(s2 / j->d + 1e-5);
        for (int i = 0; i < j->d; i++)
            y[i] = (float)((x[i] - mean) * inv) * j->ln->w[i] + j->ln->b[i];
    }
}

void wh_layernorm(qt_pool *pool, const wh_norm *ln, const float *x, float *y, int n, int d)
{
    norm_job j = {ln, x, y, n, d};
    qt_pool_run(pool, norm_task, &j, n < qt_pool_threads(pool) ? 1 : wh_tasks_for(pool, 8.0 * n * d));
}

typedef struct {
    float *x;
    size_t n;
} gelu_job;

static void gelu_task(void *ctx, int task, int n_tasks)
{
    const gelu_job *j = ctx;
    size_t lo = j->n * (size_t)task / (size_t)n_tasks, hi = j->n * (size_t)(task + 1) / (size_t)n_tasks;
    for (size_t i = lo; i < hi; i++)
        j->x[i] = 0.5f * j->x[i] * (1.0f + erff(j->x[i] * (float)M_SQRT1_2));
}

void wh_gelu(qt_pool *pool, float *x, size_t n)
{
    gelu_job j = {x, n};
    qt_pool_run(pool, gelu_task, &j, wh_tasks_for(pool, 16.0 * (double)n));
}

void wh_softmax_scalar(float *x, int n)
{
    float mx = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    float s = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        s += x[i];
    }
    float inv = 1.0f / s;
    for (int i = 0; i < n; i++)
        x[i] *= inv;
}

void wh_softmax(float *x, int n)
{
    static void (*chosen)(float *, int);
    if (!chosen) /* a racing first call stores the same value */
        chosen = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? wh_softmax_avx2
                                                                                 : wh_softmax_scalar;
    chosen(x, n);
}
