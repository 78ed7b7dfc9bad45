/* test_kernels.c — the SIMD kernels against the plain ones, the threaded/BLAS product against the plain
 * kernel, and the small kernels against their formulas. */
#include "engine/kernels.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

static void test_matmul_variant(const qt_kernels *k)
{
    static const int shapes[][3] = {{1, 7, 8},     {5, 32, 64},  {3, 33, 96}, {1, 64, 1024}, {2, 48, 2048},
                                    {4, 17, 3072}, {6, 16, 100}, {1, 3, 5},   {9, 20, 40}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int n = shapes[s][0], rows = shapes[s][1], cols = shapes[s][2];
        uint16_t *w = malloc((size_t)rows * cols * 2 + 2);
        uint16_t *wu = w + 1; /* odd element offset: the kernels must not assume alignment beyond 2 bytes */
        float *x = malloc(sizeof(float) * n * (cols + 3));
        float *y0 = calloc((size_t)n * rows, sizeof(float)), *y1 = calloc((size_t)n * rows, sizeof(float));
        for (int i = 0; i < rows * cols; i++)
            wu[i] = qt_f32_to_bf16(frand());
        for (int i = 0; i < n * (cols + 3); i++)
            x[i] = frand();
        qt_matmul_bf16_scalar(y0, rows, wu, cols, x, cols + 3, n, 0, rows);
        k->matmul_bf16(y1, rows, wu, cols, x, cols + 3, n, 0, rows);
        char what[128];
        snprintf(what, sizeof what, "%s matmul n=%d rows=%d cols=%d vs scalar", k->name, n, rows, cols);
        check_tol(what, max_abs_error(y0, y1, (size_t)n * rows, NULL), 1e-5 * sqrt(cols));
        /* a row range leaves the other rows alone */
        for (int i = 0; i < n * rows; i++)
            y1[i] = 12345.0f;
        k->matmul_bf16(y1, rows, wu, cols, x, cols + 3, n, rows / 3, rows / 2);
        int untouched = 1;
        for (int l = 0; l < n; l++)
            for (int r = 0; r < rows; r++)
                if ((r < rows / 3 || r >= rows / 2) && y1[l * rows + r] != 12345.0f) untouched = 0;
        if (!untouched) {
            printf("%s: rows outside [%d,%d) were written\n", what, rows / 3, rows / 2);
            failures++;
        }
        free(w);
        free(x);
        free(y0);
        free(y1);
    }
}

/* Grouped attention: the SIMD score and value kernels against the plain ones (hd a multiple of 16, as
 * qt_attend sends them), and qt_attend (softmax between them) against the formula in double. */
static void test_attend_variant(const qt_kernels *k)
{
    static const int shapes[][4] = {{2, 128, 1, 1024}, {2, 128, 211, 1024}, {1, 16, 5, 32},
                                    {4, 16, 37, 64},   {3, 32, 300, 40},    {2, 64, 17, 256}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int G = shapes[s][0], hd = shapes[s][1], len = shapes[s][2], ld = shapes[s][3];
        float *q = malloc(sizeof(float) * G * hd), *kv = malloc(sizeof(float) * 2 * (size_t)len * ld);
        float *o0 = malloc(sizeof(float) * G * hd), *o1 = malloc(sizeof(float) * G * hd);
        float *s0 = malloc(sizeof(float) * G * len), *s1 = malloc(sizeof(float) * G * len);
        for (int i = 0; i < G * hd; i++)
            q[i] = frand() * 2;
        for (size_t i = 0; i < 2 * (size_t)len * ld; i++)
            kv[i] = frand();
        const float *kk = kv, *vv = kv + (size_t)len * ld;
        float scale = 1.0f / sqrtf((float)hd);
        if (k != qt_kernels_scalar()) {
            char what[128];
            qt_attn_scores_scalar(s0, q, G, kk, ld, len, hd, scale);
            k->attn_scores(s1, q, G, kk, ld, len, hd, scale);
            snprintf(what, sizeof what, "%s attention scores G=%d hd=%d len=%d vs scalar", k->name, G, hd,
                     len);
            check_tol(what, max_abs_error(s0, s1, (size_t)G * len, NULL), 1e-5);
            qt_attn_values_scalar(o0, s0, G, vv, ld, len, hd);
            k->attn_values(o1, s0, G, vv, ld, len, hd);
            snprintf(what, sizeof what, "%s attention values G=%d hd=%d len=%d vs scalar", k->name, G, hd,
                     len);
            check_tol(what, max_abs_error(o0, o1, (size_t)G * hd, NULL), 1e-6 * (len + 1));
        }
        free(q);
        free(kv);
        free(o0);
        free(o1);
        free(s0);
        free(s1);
    }
}

/* qt_attend against softmax(q . k * scale) . v in double, for a width the SIMD kernels take and one they
 * leave to the plain ones. */
static void test_attend(void)
{
    static const int shapes[][4] = {{4, 16, 37, 64}, {2, 24, 9, 48}};
    for (int s = 0; s < 2; s++) {
        int G = shapes[s][0], hd = shapes[s][1], len = shapes[s][2], ld = shapes[s][3];
        float q[4 * 24], kv[2 * 37 * 64], o[4 * 24], sc[4 * 37];
        for (int i = 0; i < G * hd; i++)
            q[i] = frand() * 2;
        for (int i = 0; i < 2 * len * ld; i++)
            kv[i] = frand();
        const float *kk = kv, *vv = kv + len * ld;
        float scale = 1.0f / sqrtf((float)hd);
        qt_attend(o, q, G, kk, vv, ld, len, hd, scale, sc);
        double e = 0;
        for (int g = 0; g < G; g++) {
            double w[37], mx = -1e300, sum = 0;
            for (int p = 0; p < len; p++) {
                double d = 0;
                for (int c = 0; c < hd; c++)
                    d += (double)q[g * hd + c] * kk[p * ld + c];
                w[p] = d * scale;
                mx = fmax(mx, w[p]);
            }
            for (int p = 0; p < len; p++)
                sum += (w[p] = exp(w[p] - mx));
            for (int c = 0; c < hd; c++) {
                double acc = 0;
                for (int p = 0; p < len; p++)
                    acc += w[p] / sum * vv[p * ld + c];
                e = fmax(e, fabs(acc - o[g * hd + c]));
            }
        }
        char what[96];
        snprintf(what, sizeof what, "qt_attend G=%d hd=%d len=%d vs the formula in double", G, hd, len);
        check_tol(what, e, 1e-5);
    }
}

/* qt_matmul: fused matrices, bias, threads and the BLAS path against the scalar kernel. */
static void test_qt_matmul(qt_pool *pool, int n)
{
    int cols = 96, rows[3] = {160, 64, 37};
    uint16_t *w[3];
    float *bias = malloc(sizeof(float) * 160);
    float *x = malloc(sizeof(float) * n * cols);
    float *out[3], *ref[3];
    for (int i = 0; i < n * cols; i++)
        x[i] = frand();
    for (int i = 0; i < 160; i++)
        bias[i] = frand();
    qt_mm mm[3];
    for (int m = 0; m < 3; m++) {
        w[m] = malloc(sizeof(uint16_t) * rows[m] * cols);
        for (int i = 0; i < rows[m] * cols; i++)
            w[m][i] = qt_f32_to_bf16(frand());
        out[m] = calloc((size_t)n * rows[m], sizeof(float));
        ref[m] = calloc((size_t)n * rows[m], sizeof(float));
        mm[m] = (qt_mm){w[m], m == 0 ? bias : NULL, out[m], rows[m], rows[m], NULL};
        qt_matmul_bf16_scalar(ref[m], rows[m], w[m], cols, x, cols, n, 0, rows[m]);
        if (m == 0)
            for (int l = 0; l < n; l++)
                for (int r = 0; r < rows[m]; r++)
                    ref[m][l * rows[m] + r] += bias[r];
    }
    qt_matmul(pool, mm, 3, cols, x, cols, n);
    for (int m = 0; m < 3; m++) {
        char what[128];
        snprintf(what, sizeof what, "qt_matmul n=%d (%s) matrix %d, %d threads", n,
                 n > QT_GEMM_MIN_N ? "BLAS tiles" : "row kernel", m, qt_pool_threads(pool));
        check_tol(what, max_abs_error(ref[m], out[m], (size_t)n * rows[m], NULL), 2e-5 * sqrt(cols));
        free(w[m]);
        free(out[m]);
        free(ref[m]);
    }
    free(bias);
    free(x);
}

static void test_small(void)
{
    float x[16], w[16], o[16];
    double ss = 0;
    for (int i = 0; i < 16; i++) {
        x[i] = frand() * 3;
        w[i] = 1 + frand();
        ss += (double)x[i] * x[i];
    }
    qt_rmsnorm(o, x, w, 16, 1e-6f);
    double e = 0;
    for (int i = 0; i < 16; i++)
        e = fmax(e, fabs(o[i] - w[i] * x[i] / sqrt(ss / 16 + 1e-6)));
    check_tol("rmsnorm vs formula", e, 1e-5);

    /* RoPE: rotate-half pairs (j, j+half) by angle pos*inv_freq[j]; norms are preserved */
    float inv[8], v[2 * 16], v0[2 * 16];
    qt_rope_inv_freq(inv, 16, 1e6f);
    check_tol("rope inv_freq[1] = 1e6^(-2/16)", fabs(inv[1] - pow(1e6, -2.0 / 16)), 1e-7);
    for (int i = 0; i < 32; i++)
        v[i] = v0[i] = frand();
    qt_rope(v, 2, 16, 37, inv);
    e = 0;
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 8; j++) {
            double a = 37.0 * inv[j], c = cos(a), s = sin(a);
            double x0 = v0[h * 16 + j], x1 = v0[h * 16 + j + 8];
            e = fmax(e, fabs(v[h * 16 + j] - (x0 * c - x1 * s)));
            e = fmax(e, fabs(v[h * 16 + j + 8] - (x1 * c + x0 * s)));
        }
    check_tol("rope (NeoX rotate-half) vs formula at pos 37", e, 1e-5);

    float s[5] = {1, 2, 3, -1000, 1000};
    qt_softmax(s, 5);
    check_tol("softmax of a 1000 logit is 1", fabs(s[4] - 1.0), 1e-6);
    float s2[3] = {0, log(2.0f), log(3.0f)};
    qt_softmax(s2, 3);
    check_tol("softmax [0, ln2, ln3] = [1,2,3]/6", fmax(fabs(s2[0] - 1 / 6.0), fabs(s2[2] - 0.5)), 1e-6);
    check_tol("silu(1) = 1/(1+e^-1)", fabs(qt_silu(1.0f) - 1 / (1 + exp(-1.0))), 1e-6);
    check_tol("bf16 round trip of 1.5", fabs(qt_bf16_to_f32(qt_f32_to_bf16(1.5f)) - 1.5), 0);
    check_tol("bf16 round to nearest: 1+2^-9 -> 1",
              fabs(qt_bf16_to_f32(qt_f32_to_bf16(1.0f + 1.0f / 512)) - 1.0), 0);
}

int main(void)
{
    const qt_kernels *all[3] = {qt_kernels_scalar(), qt_kernels_avx2(), qt_kernels_avx512()};
    printf("chosen kernels: %s\n", qt_kernels_get()->name);
    for (int i = 0; i < 3; i++) {
        if (!all[i]) {
            printf("%s kernels: not supported on this CPU, skipped\n", i == 1 ? "avx2" : "avx512");
            continue;
        }
        test_matmul_variant(all[i]);
        test_attend_variant(all[i]);
    }
    test_attend();
    /* the read loops agree on what they read */
    {
        size_t nb = 4096 + 64;
        uint8_t *buf = malloc(nb);
        for (size_t i = 0; i < nb; i++)
            buf[i] = (uint8_t)(i * 7 + 3);
        for (int i = 1; i < 3; i++)
            if (all[i]) {
                char what[96];
                snprintf(what, sizeof what, "%s read loop xor-folds like the scalar one", all[i]->name);
                uint64_t s = all[0]->read(buf, nb), v = all[i]->read(buf, nb);
                /* the vector loops fold lanes differently; both must be non-zero and change with the data */
                buf[100] ^= 1;
                uint64_t v2 = all[i]->read(buf, nb);
                buf[100] ^= 1;
                check_tol(what, (s != 0 && v != v2) ? 0.0 : 1.0, 0);
            }
        free(buf);
    }
    qt_pool *pool = qt_pool_new(2);
    for (int n = 1; n <= 25; n += 4) {
        test_qt_matmul(NULL, n);
        test_qt_matmul(pool, n);
    }
    double bw = qt_measure_read_bandwidth(pool, (size_t)32 << 20);
    printf("read bandwidth over 32 MiB, 2 threads: %.1f GB/s\n", bw / 1e9);
    check_tol("read bandwidth is measured (> 0)", bw > 0 ? 0.0 : 1.0, 0);
    qt_pool_free(pool);
    test_small();
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
