/* test_quant.c — the int8 kernels: AVX2 and AVX-512 VNNI give exactly the plain kernel's bits (the integer
 * sums are exact and the float steps are the same), quantization stays within half a step, and the int8
 * product stays close to the f32 one. */
#include "engine/kernels.h"
#include "engine/quant.h"

#include "test_util.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

static void test_shape(int n, int rows, int cols)
{
    uint16_t *w = malloc(sizeof(uint16_t) * rows * cols);
    float *x = malloc(sizeof(float) * n * (cols + 5));
    for (int i = 0; i < rows * cols; i++)
        w[i] = qt_f32_to_bf16(frand() * (i % 97 == 0 ? 4.0f : 0.05f)); /* a few outliers per row */
    for (int i = 0; i < n * (cols + 5); i++)
        x[i] = frand();
    if (rows > 2)
        for (int c = 0; c < cols; c++)
            w[(size_t)2 * cols + c] = 0; /* an all-zero row: scale 0 */
    qt_q8 q;
    qt_q8_act a = {0};
    CHECK(qt_q8_from_bf16(&q, w, rows, cols, NULL) == 0, "quantize %dx%d", rows, cols);
    CHECK(qt_q8_act_quantize(&a, x, cols + 5, cols, n) == 0, "quantize activations");

    /* dequantized weights within half a step of the originals */
    double qerr = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float s = q.scale[(size_t)r * q.groups + c / QT_Q8_GROUP];
            float dq = s * (float)((int)q.w[(size_t)r * q.groups * QT_Q8_GROUP + c] - 128);
            double e = fabs(dq - qt_bf16_to_f32(w[(size_t)r * cols + c])) / (s > 0 ? s : 1);
            if (e > qerr) qerr = e;
        }
    CHECK(qerr <= 0.5 + 1e-3, "%dx%d: a weight is %.3f steps from its quantized value", rows, cols, qerr);

    float *y0 = malloc(sizeof(float) * n * rows), *y1 = malloc(sizeof(float) * n * rows);
    qt_matmul_q8_scalar(y0, rows, &q, &a, 0, rows);
    /* against f32: the error of an int8 dot product is a small fraction of the vector norms */
    double worst = 0;
    for (int l = 0; l < n; l++)
        for (int r = 0; r < rows; r++) {
            double ref = 0, nw = 0, nx = 0;
            for (int c = 0; c < cols; c++) {
                double wv = qt_bf16_to_f32(w[(size_t)r * cols + c]), xv = x[(size_t)l * (cols + 5) + c];
                ref += wv * xv;
                nw += wv * wv;
                nx += xv * xv;
            }
            double e = fabs(ref - y0[(size_t)l * rows + r]) / (sqrt(nw * nx) + 1e-30);
            if (e > worst) worst = e;
        }
    printf("n=%d %4dx%-4d  int8 vs f32: max |err| / (|w||x|) = %.2e\n", n, rows, cols, worst);
    CHECK(worst < 0.02, "n=%d %dx%d: int8 product too far from f32 (%.3g)", n, rows, cols, worst);

    const qt_q8_kernels *ks[2] = {qt_q8_kernels_avx2(), qt_q8_kernels_vnni()};
    const char *names[2] = {"avx2", "avx512-vnni"};
    for (int k = 0; k < 2; k++) {
        if (!ks[k]) {
            printf("  %s: not on this CPU, skipped\n", names[k]);
            continue;
        }
        for (int i = 0; i < n * rows; i++)
            y1[i] = 12345.0f;
        ks[k]->matmul(y1, rows, &q, &a, 0, rows);
        int same = memcmp(y0, y1, sizeof(float) * n * rows) == 0;
        CHECK(same, "n=%d %dx%d: %s differs from the plain kernel (e.g. %.9g vs %.9g)", n, rows, cols,
              names[k], y0[0], y1[0]);
        /* a row range leaves the other rows alone and equals the full product inside */
        for (int i = 0; i < n * rows; i++)
            y1[i] = 12345.0f;
        int r0 = rows / 3, r1 = rows / 2 + 1;
        ks[k]->matmul(y1, rows, &q, &a, r0, r1);
        int ok = 1;
        for (int l = 0; l < n; l++)
            for (int r = 0; r < rows; r++) {
                float v = y1[(size_t)l * rows + r];
                if (r >= r0 && r < r1 ? v != y0[(size_t)l * rows + r] : v != 12345.0f) ok = 0;
            }
        CHECK(ok, "n=%d %dx%d: %s rows [%d,%d) wrong or others written", n, rows, cols, names[k], r0, r1);
    }
    qt_q8_free(&q);
    qt_q8_act_free(&a);
    free(w);
    free(x);
    free(y0);
    free(y1);
}

/* The AVX-512 load-time quantizer gives the plain one's bytes and scales (partial groups, zero groups). */
static void test_quantize_rows(void)
{
    if (!qt_q8_kernels_vnni()) {
        printf("quantize_row avx512: not on this CPU, skipped\n");
        return;
    }
    static const int widths[] = {64, 1024, 1000, 40, 130, 3072};
    for (size_t t = 0; t < sizeof widths / sizeof widths[0]; t++) {
        int cols = widths[t], groups = (cols + QT_Q8_GROUP - 1) / QT_Q8_GROUP;
        uint16_t *w = malloc(sizeof(uint16_t) * cols);
        for (int i = 0; i < cols; i++)
            w[i] = qt_f32_to_bf16(i < 64 && t == 1 ? 0.0f : frand() * (i % 13 == 0 ? 3.0f : 0.1f));
        uint8_t *d0 = malloc((size_t)groups * QT_Q8_GROUP), *d1 = malloc((size_t)groups * QT_Q8_GROUP);
        float *s0 = malloc(sizeof(float) * groups), *s1 = malloc(sizeof(float) * groups);
        qt_quantize_row_scalar(w, cols, groups, d0, s0);
        qt_quantize_row_avx512(w, cols, groups, d1, s1);
        CHECK(!memcmp(d0, d1, (size_t)groups * QT_Q8_GROUP) && !memcmp(s0, s1, sizeof(float) * groups),
              "quantize_row avx512 differs from the plain one at cols=%d", cols);
        free(w);
        free(d0);
        free(d1);
        free(s0);
        free(s1);
    }
    printf("quantize_row avx512 equals the plain quantizer\n");
}

/* The AVX-512 activation quantizer gives the plain one's bytes, lane scales and corrections (partial
 * groups and lanes, zero lanes, a lane with inf or NaN, values that round at .5). */
static void test_quantize_act(void)
{
    if (!qt_q8_kernels_vnni()) {
        printf("quantize_act avx512: not on this CPU, skipped\n");
        return;
    }
    static const int widths[] = {64, 1024, 1000, 42, 130, 3072, 3};
    for (size_t t = 0; t < sizeof widths / sizeof widths[0]; t++) {
        int cols = widths[t], groups = (cols + QT_Q8_GROUP - 1) / QT_Q8_GROUP;
        float *x = malloc(sizeof(float) * cols);
        for (int i = 0; i < cols; i++)
            x[i] = frand() * (i % 11 == 0 ? 40.0f : 1.0f);
        if (cols >= 64) {
            x[4] = x[5] = x[6] = x[7] = 0.0f;             /* a zero lane */
            x[9] = INFINITY;                              /* a lane with inf */
            x[14] = NAN;                                  /* a lane with NaN */
            x[16] = 127.0f, x[17] = 0.5f, x[18] = -62.5f; /* .5 after scaling: rounds away from zero */
        }
        size_t nq = (size_t)groups * QT_Q8_GROUP, ns = (size_t)groups * QT_Q8_LANES;
        int8_t *q0 = malloc(nq), *q1 = malloc(nq);
        float *s0 = malloc(sizeof(float) * ns), *s1 = malloc(sizeof(float) * ns);
        int32_t *c0 = malloc(sizeof(int32_t) * ns), *c1 = malloc(sizeof(int32_t) * ns);
        qt_quantize_act_scalar(x, cols, groups, q0, s0, c0);
        qt_quantize_act_avx512(x, cols, groups, q1, s1, c1);
        CHECK(!memcmp(q0, q1, nq) && !memcmp(s0, s1, sizeof(float) * ns) &&
                  !memcmp(c0, c1, sizeof(int32_t) * ns),
              "quantize_act avx512 differs from the plain one at cols=%d", cols);
        free(x);
        free(q0);
        free(q1);
        free(s0);
        free(s1);
        free(c0);
        free(c1);
    }
    printf("quantize_act avx512 equals the plain quantizer\n");
}

/* The AVX-512 dequantizer gives the plain one's floats and leaves the columns past cols alone. */
static void test_dequant(void)
{
    if (!qt_q8_kernels_vnni()) {
        printf("dequant avx512: not on this CPU, skipped\n");
        return;
    }
    static const int widths[] = {64, 1000, 42, 3072};
    for (size_t t = 0; t < sizeof widths / sizeof widths[0]; t++) {
        int rows = 5, cols = widths[t];
        uint16_t *w = malloc(sizeof(uint16_t) * rows * cols);
        for (int i = 0; i < rows * cols; i++)
            w[i] = qt_f32_to_bf16(frand() * (i % 7 == 0 ? 3.0f : 0.2f));
        qt_q8 q;
        qt_q8_from_bf16(&q, w, rows, cols, NULL);
        size_t nf = (size_t)3 * cols + 1;
        float *f0 = malloc(sizeof(float) * nf), *f1 = malloc(sizeof(float) * nf);
        for (size_t i = 0; i < nf; i++)
            f0[i] = f1[i] = -7.0f;
        qt_q8_dequant_rows_scalar(&q, 1, 3, f0);
        qt_q8_dequant_rows_avx512(&q, 1, 3, f1);
        CHECK(!memcmp(f0, f1, sizeof(float) * nf) && f1[nf - 1] == -7.0f,
              "dequant avx512 differs from the plain one at cols=%d", cols);
        qt_q8_free(&q);
        free(w);
        free(f0);
        free(f1);
    }
    printf("dequant avx512 equals the plain dequantizer\n");
}

int main(void)
{
    static const int shapes[][3] = {{1, 7, 64},    {1, 33, 1024}, {2, 17, 1000}, {3, 5, 40},
                                    {1, 64, 3072}, {4, 9, 130},   {1, 3, 2048},  {16, 6, 256}};
    printf("int8 kernels on this CPU: %s\n", qt_q8_kernels_get()->name);
    test_quantize_rows();
    test_quantize_act();
    test_dequant();
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        test_shape(shapes[s][0], shapes[s][1], shapes[s][2]);
    /* extreme activations: the largest products must not saturate anywhere */
    {
        int cols = 128;
        uint16_t w[128];
        float x[128];
        for (int c = 0; c < cols; c++) {
            w[c] = qt_f32_to_bf16(c % 2 ? -1.0f : 1.0f);
            x[c] = c % 2 ? -3.0f : 3.0f;
        }
        qt_q8 q;
        qt_q8_act a = {0};
        qt_q8_from_bf16(&q, w, 1, cols, NULL);
        qt_q8_act_quantize(&a, x, cols, cols, 1);
        float y0, y1;
        qt_matmul_q8_scalar(&y0, 1, &q, &a, 0, 1);
        CHECK(fabsf(y0 - 384.0f) < 1e-3f, "all-max product: expected 384, got %g", y0);
        const qt_q8_kernels *ks[2] = {qt_q8_kernels_avx2(), qt_q8_kernels_vnni()};
        for (int k = 0; k < 2; k++)
            if (ks[k]) {
                ks[k]->matmul(&y1, 1, &q, &a, 0, 1);
                CHECK(y1 == y0, "all-max product: %s gives %g, scalar %g", ks[k]->name, y1, y0);
            }
        qt_q8_free(&q);
        qt_q8_act_free(&a);
    }
    printf("%s\n", failures ? "FAILED" : "all ok");
    return failures ? 1 : 0;
}
