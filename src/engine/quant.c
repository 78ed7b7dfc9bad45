/* quant.c — int8 quantization of bf16 weights and f32 activations, the plain int8 kernel that defines the
 * results, and the run-time choice of the SIMD ones.
 *
 * Keep the plain kernel simple: it is the definition (quant.h) the AVX2 and VNNI kernels must equal bit for
 * bit. Must not: know about tensors, files or the model.
 */
#include "engine/quant.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Quantizes k values into a span of `span` (the rest of the span is zero): returns the scale. Rounds half
 * away from zero. A span holding inf or NaN (never in a sane checkpoint) becomes all zero. */
static float quantize_span(const float *v, int k, int span, int8_t *q)
{
    float amax = 0.0f;
    int bad = 0;
    for (int i = 0; i < k; i++) {
        float a = fabsf(v[i]);
        amax = a > amax ? a : amax;
        bad |= !(a <= 3.4e38f);
    }
    int ok = amax > 0.0f && !bad;
    float inv = ok ? 127.0f / amax : 0.0f;
    for (int i = 0; i < k; i++) {
        float r = ok ? v[i] * inv : 0.0f;
        r = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r;
        q[i] = (int8_t)(int)(r + (r >= 0.0f ? 0.5f : -0.5f));
    }
    for (int i = k; i < span; i++)
        q[i] = 0;
    return ok ? amax / 127.0f : 0.0f;
}

/* One weight group: k <= QT_Q8_GROUP values. */
static float quantize_group(const float *v, int k, int8_t *q)
{
    return quantize_span(v, k, QT_Q8_GROUP, q);
}

void qt_quantize_row_scalar(const uint16_t *src, int cols, int groups, uint8_t *dst, float *scale)
{
    float v[QT_Q8_GROUP];
    int8_t g8[QT_Q8_GROUP];
    for (int g = 0; g < groups; g++) {
        int c0 = g * QT_Q8_GROUP, k = cols - c0 < QT_Q8_GROUP ? cols - c0 : QT_Q8_GROUP;
        for (int i = 0; i < k; i++) { /* bf16 -> f32 (kernels.h has it, but kernels.c builds on this file) */
            uint32_t u = (uint32_t)src[c0 + i] << 16;
            memcpy(&v[i], &u, sizeof u);
        }
        scale[g] = quantize_group(v, k, g8);
        for (int i = 0; i < QT_Q8_GROUP; i++)
            dst[c0 + i] = (uint8_t)(g8[i] ^ 0x80); /* q + 128 */
    }
}

typedef struct {
    qt_q8 *q;
    const uint16_t *w;
    qt_quantize_row_fn fn;
} quant_job;

static void quant_rows(void *ctx, int task, int n_tasks)
{
    const quant_job *j = ctx;
    qt_q8 *q = j->q;
    int per = (q->rows + n_tasks - 1) / n_tasks, r0 = task * per,
        r1 = r0 + per < q->rows ? r0 + per : q->rows;
    size_t width = (size_t)q->groups * QT_Q8_GROUP;
    for (int r = r0; r < r1; r++)
        j->fn(j->w + (size_t)r * q->cols, q->cols, q->groups, q->w + (size_t)r * width,
              q->scale + (size_t)r * q->groups);
}

int qt_q8_from_bf16(qt_q8 *q, const uint16_t *w, int rows, int cols, qt_pool *pool)
{
    memset(q, 0, sizeof *q);
    q->rows = rows;
    q->cols = cols;
    q->groups = (cols + QT_Q8_GROUP - 1) / QT_Q8_GROUP;
    size_t bytes = (size_t)rows * q->groups * QT_Q8_GROUP;
    if (posix_memalign((void **)&q->w, 64, bytes) ||
        !(q->scale = malloc(sizeof(float) * (size_t)rows * q->groups))) {
        qt_q8_free(q);
        return -1;
    }
    quant_job j = {q, w, qt_q8_kernels_get()->quantize_row};
    int threads = pool ? qt_pool_threads(pool) : 1;
    qt_pool_run(pool, quant_rows, &j, rows < threads * 4 ? 1 : threads * 4);
    return 0;
}

void qt_q8_free(qt_q8 *q)
{
    if (!q) return;
    if (!q->borrowed) {
        free(q->w);
        free(q->scale);
    }
    memset(q, 0, sizeof *q);
}

size_t qt_q8_bytes(const qt_q8 *q)
{
    return (size_t)q->rows * q->groups * (QT_Q8_GROUP + sizeof(float));
}

void qt_q8_dequant_rows(const qt_q8 *q, int r0, int n, float *out)
{
    qt_q8_kernels_get()->dequant_rows(q, r0, n, out);
}

void qt_q8_dequant_rows_scalar(const qt_q8 *q, int r0, int n, float *out)
{
    size_t width = (size_t)q->groups * QT_Q8_GROUP;
    for (int r = 0; r < n; r++) {
        const uint8_t *row = q->w + (size_t)(r0 + r) * width;
        float *o = out + (size_t)r * q->cols;
        for (int g = 0; g < q->groups; g++) {
            float s = q->scale[(size_t)(r0 + r) * q->groups + g];
            int c0 = g * QT_Q8_GROUP, k = q->cols - c0 < QT_Q8_GROUP ? q->cols - c0 : QT_Q8_GROUP;
            for (int i = 0; i < k; i++)
                o[c0 + i] = s * (float)((int)row[c0 + i] - 128);
        }
    }
}

int qt_q8_act_quantize(qt_q8_act *a, const float *x, int ldx, int cols, int n)
{
    int groups = (cols + QT_Q8_GROUP - 1) / QT_Q8_GROUP;
    if (n * groups > a->n * a->groups) {
        qt_q8_act_free(a);
        size_t ng = (size_t)n * groups;
        if (posix_memalign((void **)&a->q, 64, ng * QT_Q8_GROUP) ||
            posix_memalign((void **)&a->corr, 64, ng * 16 * sizeof(int32_t)) ||
            posix_memalign((void **)&a->scale, 64, ng * QT_Q8_LANES * sizeof(float))) {
            qt_q8_act_free(a);
            return -1;
        }
    }
    a->n = n;
    a->cols = cols;
    a->groups = groups;
    qt_quantize_act_fn fn = qt_q8_kernels_get()->quantize_act;
    for (int l = 0; l < n; l++) {
        size_t at = (size_t)l * groups;
        fn(x + (size_t)l * ldx, cols, groups, a->q + at * QT_Q8_GROUP, a->scale + at * QT_Q8_LANES,
           a->corr + at * 16);
    }
    return 0;
}

void qt_quantize_act_scalar(const float *x, int cols, int groups, int8_t *q, float *scale, int32_t *corr)
{
    for (int g = 0; g < groups; g++) {
        int c0 = g * QT_Q8_GROUP, k = cols - c0 < QT_Q8_GROUP ? cols - c0 : QT_Q8_GROUP;
        for (int lane = 0; lane < QT_Q8_LANES; lane++) {
            int8_t *ql = q + (size_t)g * QT_Q8_GROUP + 4 * lane;
            int kl = k - 4 * lane < 0 ? 0 : k - 4 * lane > 4 ? 4 : k - 4 * lane;
            scale[g * QT_Q8_LANES + lane] = quantize_span(x + c0 + 4 * lane, kl, 4, ql);
            corr[g * 16 + lane] = -128 * (ql[0] + ql[1] + ql[2] + ql[3]);
        }
    }
}

void qt_q8_act_free(qt_q8_act *a)
{
    if (!a) return;
    free(a->q);
    free(a->scale);
    free(a->corr);
    memset(a, 0, sizeof *a);
}

void qt_matmul_q8_scalar(float *y, int ldy, const qt_q8 *w, const qt_q8_act *a, int r0, int r1)
{
    size_t width = (size_t)w->groups * QT_Q8_GROUP;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = w->w + (size_t)r * width;
        const float *ws = w->scale + (size_t)r * w->groups;
        for (int l = 0; l < a->n; l++) {
            const int8_t *x = a->q + (size_t)l * width;
            const float *xs = a->scale + (size_t)l * w->groups * QT_Q8_LANES;
            float acc[16] = {0};
            for (int g = 0; g < w->groups; g++) {
                for (int lane = 0; lane < 16; lane++) {
                    int b = g * QT_Q8_GROUP + 4 * lane, d = 0;
                    for (int i = 0; i < 4; i++)
                        d += ((int)row[b + i] - 128) * x[b + i];
                    acc[lane] = fmaf((float)d, ws[g] * xs[g * QT_Q8_LANES + lane], acc[lane]);
                }
            }
            y[(size_t)l * ldy + r] = qt_q8_reduce16(acc);
        }
    }
}

/* ---- run-time choice ------------------------------------------------------------------------------------
 */

static const qt_q8_kernels k_scalar = {"scalar", qt_matmul_q8_scalar, qt_quantize_row_scalar,
                                       qt_quantize_act_scalar, qt_q8_dequant_rows_scalar};
static const qt_q8_kernels k_avx2 = {"avx2", qt_matmul_q8_avx2, qt_quantize_row_scalar,
                                     qt_quantize_act_scalar, qt_q8_dequant_rows_scalar};
static const qt_q8_kernels k_vnni = {"avx512-vnni", qt_matmul_q8_vnni, qt_quantize_row_avx512,
                                     qt_quantize_act_avx512, qt_q8_dequant_rows_avx512};

const qt_q8_kernels *qt_q8_kernels_scalar(void)
{
    return &k_scalar;
}

const qt_q8_kernels *qt_q8_kernels_avx2(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &k_avx2;
#endif
    return NULL;
}

const qt_q8_kernels *qt_q8_kernels_vnni(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        return &k_vnni;
#endif
    return NULL;
}

static const qt_q8_kernels *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *want = getenv("VOICEBOX_KERNELS"); /* as for the bf16 kernels (kernels.c) */
    const qt_q8_kernels *v = qt_q8_kernels_vnni(), *a2 = qt_q8_kernels_avx2();
    chosen = v ? v : a2 ? a2 : &k_scalar;
    if (want && !strcmp(want, "scalar"))
        chosen = &k_scalar;
    else if (want && !strcmp(want, "avx2") && a2)
        chosen = a2;
}

const qt_q8_kernels *qt_q8_kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}
