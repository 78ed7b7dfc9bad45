/* test_codec_bf16.c — the codec decoder's bf16 path (precision int8; docs/engine.md §7.8).
 *
 * The split-bf16 product: the plain version against the exact sum, the AMX one (where the CPU has it)
 * against the plain one on odd shapes, and that any split of a product gives the same bits; the bf16 decode
 * of the golden codes against the f32 decode (max abs error printed, <= 2e-3) and streaming == one pass in
 * bf16 too.
 */
#include "engine/codec_gemm_bf16.h"
#include "engine/kernels.h"
#include "engine/qt.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPLIT_TOL 3e-5  /* the split product vs the exact sum, relative to the sum of |terms| */
#define KERNEL_TOL 1e-6 /* AMX vs the plain version: only the rounding inside a tile step differs */
#define BF16_TOL 2e-3   /* bf16 decode vs float32 decode, max abs over the samples (issue 12) */

static void test_kernels(void)
{
    static const int shapes[][3] = {{1, 1, 1},    {7, 5, 3},      {9, 33, 17},    {17, 70, 130},
                                    {33, 47, 64}, {64, 100, 300}, {40, 130, 517}, {96, 200, 672}};
    const char *best;
    qt_codec_gemm_bf16_get(&best);
    int amx = qt_codec_amx_usable();
    printf("bf16 products: %s chosen; AMX %s\n", best, amx ? "checked" : "not on this machine");
    srand(11);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
        float *W = malloc((size_t)M * K * sizeof *W), *Wt = malloc((size_t)M * K * sizeof *Wt);
        float *B = malloc((size_t)K * N * sizeof *B), *C0 = malloc((size_t)M * N * sizeof *C0);
        float *C = malloc((size_t)M * N * sizeof *C), *C2 = malloc((size_t)M * N * sizeof *C2);
        double *exact = calloc((size_t)M * N, sizeof *exact), *mag = calloc((size_t)M * N, sizeof *mag);
        for (int i = 0; i < M * K; i++)
            W[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
        for (int i = 0; i < K * N; i++)
            B[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
        for (int m = 0; m < M; m++)
            for (int k = 0; k < K; k++)
                Wt[k * M + m] = W[m * K + k];
        ptrdiff_t lda = 0, lda_t = 0;
        int padded = (M + QT_CODEC_BF16_ROWS - 1) / QT_CODEC_BF16_ROWS * QT_CODEC_BF16_ROWS;
        uint16_t *A = qt_codec_bf16_matrix(W, M, K, K, 1, &lda),
                 *At = qt_codec_bf16_matrix(Wt, M, K, 1, M, &lda_t);
        CHECK(A && At && lda == lda_t && lda % (2 * QT_CODEC_BF16_KPAD) == 0 && lda >= 2 * K &&
                  !memcmp(A, At, (size_t)padded * lda * sizeof *A),
              "bf16 matrix %dx%d: the transposed reading differs", M, K);
        for (int i = 0; i < M * N; i++)
            C0[i] = (float)(i % 7) * 0.1f;
        for (int m = 0; m < M; m++)
            for (int k = 0; k < K; k++)
                for (int n = 0; n < N; n++) {
                    double t = (double)W[m * K + k] * B[k * N + n];
                    exact[m * N + n] += t;
                    mag[m * N + n] += fabs(t);
                }
        qt_codec_gemm_bf16_scalar(M, N, K, A, lda, B, N, C0, N);
        /* the split keeps ~16 bits of each factor: the plain version is within ~1e-5 of the exact sum */
        double worst = 0;
        for (int i = 0; i < M * N; i++) {
            double d = fabs((double)C0[i] - (i % 7) * 0.1f - exact[i]) / (mag[i] + 1e-30);
            worst = d > worst || isnan(d) ? d : worst;
        }
        int ok = worst <= SPLIT_TOL;
        printf("%s: split-bf16 plain vs exact, %dx%dx%d: max err %.3g of the terms' size\n",
               ok ? "ok  " : "FAIL", M, N, K, worst);
        failures += !ok;
        if (amx) {
            for (int i = 0; i < M * N; i++)
                C[i] = C2[i] = (float)(i % 7) * 0.1f;
            qt_codec_gemm_bf16_amx(M, N, K, A, lda, B, N, C, N);
            worst = 0;
            for (int i = 0; i < M * N; i++) {
                double d = fabs((double)C[i] - C0[i]) / (mag[i] + 1.0);
                worst = d > worst || isnan(d) ? d : worst;
            }
            ok = worst <= KERNEL_TOL;
            printf("%s: split-bf16 amx vs plain, %dx%dx%d: max err %.3g\n", ok ? "ok  " : "FAIL", M, N, K,
                   worst);
            failures += !ok;
            for (int n0 = 0; n0 < N; n0 += 5) /* columns in pieces of 5, rows in pieces of 32 */
                for (int m0 = 0; m0 < M; m0 += QT_CODEC_BF16_ROWS)
                    qt_codec_gemm_bf16_amx(M - m0 < QT_CODEC_BF16_ROWS ? M - m0 : QT_CODEC_BF16_ROWS,
                                           N - n0 < 5 ? N - n0 : 5, K, A + m0 * lda, lda, B + n0, N,
                                           C2 + (size_t)m0 * N + n0, N);
            CHECK(!memcmp(C, C2, (size_t)M * N * sizeof *C), "amx %dx%dx%d: a split product differs", M, N,
                  K);
        }
        free(W);
        free(Wt);
        free(A);
        free(At);
        free(B);
        free(C0);
        free(C);
        free(C2);
        free(exact);
        free(mag);
    }
}

/* An I64 [frames, 16] golden code tensor as int32 (NULL, a failure counted, when it is not there). */
static int32_t *gcodes(const st_file *f, const char *name, int *frames)
{
    const st_tensor *t = st_find(f, name);
    if (!t || t->dtype != ST_I64 || t->n_dims != 2 || t->shape[1] != QT_CODEBOOKS) {
        printf("FAIL: golden tensor '%s' missing or not I64[n,16]\n", name);
        failures++;
        return NULL;
    }
    *frames = (int)t->shape[0];
    int32_t *c = malloc((size_t)t->n_elements * sizeof *c);
    for (int64_t i = 0; i < t->n_elements; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + i * 8, 8);
        c[i] = (int32_t)v;
    }
    return c;
}

static float *decode(qt_codec *c, const int32_t *codes, int frames)
{
    float *out = malloc(((size_t)frames * QT_SAMPLES_PER_FRAME + 1) * sizeof *out);
    qt_error e = {0};
    if (qt_codec_decode(c, codes, frames, out, &e) != 0) {
        printf("FAIL: decode of %d frames: %s\n", frames, e.msg);
        failures++;
        free(out);
        return NULL;
    }
    return out;
}

static double max_abs(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        worst = d > worst || isnan(d) ? d : worst;
    }
    return worst;
}

/* The golden codes decoded in bf16 against the float32 decode (and the reference's wav, for the record). */
static void test_golden(const char *dir, const st_file *g, const char *codes_name, const st_file *gw,
                        const char *wav_name)
{
    int frames = 0;
    int32_t *codes = gcodes(g, codes_name, &frames);
    if (!codes) return;
    qt_error e = {0};
    qt_codec *c = qt_codec_load(dir, 1, &e);
    CHECK(c && qt_codec_bf16(c) == 0, "%s: codec load or default precision: %s", dir, e.msg);
    if (!c) {
        free(codes);
        return;
    }
    size_t n = (size_t)frames * QT_SAMPLES_PER_FRAME;
    float *f32 = decode(c, codes, frames);
    if (!qt_codec_gemm_bf16_get(NULL)) { /* no AMX: the decoder stays float32 (§7.8) */
        CHECK(qt_codec_set_bf16(c, 1, &e) == 0 && qt_codec_bf16(c) == 0, "set bf16 without AMX: %s", e.msg);
        printf("ok  : %s: no AMX-BF16 here, the decoder stays float32 (VOICEBOX_KERNELS=scalar checks the "
               "bf16 path)\n",
               codes_name);
        free(f32);
        free(codes);
        qt_codec_free(c);
        return;
    }
    CHECK(qt_codec_set_bf16(c, 1, &e) == 0 && qt_codec_bf16(c) == 1, "set bf16: %s", e.msg);
    float *bf = decode(c, codes, frames);
    const st_tensor *ref = st_find(gw, wav_name);
    if (f32 && bf) {
        double err = max_abs(bf, f32, n);
        int ok = err <= BF16_TOL;
        printf("%s: %-24s %3d frames: bf16 vs float32 decode max abs err %.3g (tol %.0e)",
               ok ? "ok  " : "FAIL", codes_name, frames, err, BF16_TOL);
        if (ref && ref->dtype == ST_F32 && (size_t)ref->n_elements == n) {
            float *r = malloc(n * sizeof *r);
            memcpy(r, ref->data, n * sizeof *r);
            printf("; vs the reference: float32 %.3g, bf16 %.3g", max_abs(f32, r, n), max_abs(bf, r, n));
            free(r);
        }
        printf("\n");
        failures += !ok;
        /* streaming in bf16: pushes of 3 give the one-pass bits, as in float32 */
        qt_codec_stream *s = qt_codec_stream_new(c, &e);
        float *st = malloc(n * sizeof *st);
        size_t wrote = 0;
        for (int t = 0; s && t < frames; t += 3) {
            int k = frames - t < 3 ? frames - t : 3;
            CHECK(qt_codec_stream_push(s, codes + (size_t)t * QT_CODEBOOKS, k,
                                       st + (size_t)t * QT_SAMPLES_PER_FRAME,
                                       (size_t)k * QT_SAMPLES_PER_FRAME, &wrote, &e) == 0,
                  "push: %s", e.msg);
        }
        CHECK(s && !memcmp(st, bf, n * sizeof *st), "%s: bf16 stream by 3 differs from bf16 one pass",
              codes_name);
        qt_codec_stream_free(s);
        free(st);
        /* two threads, the same bits; back to float32, the float32 bits */
        qt_codec *c2 = qt_codec_load(dir, 2, &e);
        float *two = c2 && qt_codec_set_bf16(c2, 1, &e) == 0 ? decode(c2, codes, frames) : NULL;
        CHECK(two && !memcmp(two, bf, n * sizeof *two), "%s: bf16 on 2 threads differs from 1 thread",
              codes_name);
        free(two);
        qt_codec_free(c2);
        CHECK(qt_codec_set_bf16(c, 0, &e) == 0, "set f32: %s", e.msg);
        float *back = decode(c, codes, frames);
        CHECK(back && !memcmp(back, f32, n * sizeof *back), "%s: float32 after bf16 differs", codes_name);
        free(back);
    }
    free(f32);
    free(bf);
    free(codes);
    qt_codec_free(c);
}

int main(void)
{
    test_kernels();
    const char *gd = golden_dir();
    char path[4400], dir[4400];
    snprintf(path, sizeof path, "%s/expected/speech_tokenizer_golden.safetensors", gd);
    snprintf(dir, sizeof dir, "%s/speech_tokenizer", gd);
    qt_error e = {0};
    st_file *g = *gd ? st_open(path, &e) : NULL;
    snprintf(path, sizeof path, "%s/expected/tiny-a/golden.safetensors", gd);
    st_file *ga = g ? st_open(path, &e) : NULL;
    if (!g || !ga) {
        printf("skip: no golden fixtures at '%s' (the kernels were checked)\n", gd);
        st_close(g);
        return failures ? 1 : 77;
    }
    test_golden(dir, g, "ref_codes", g, "ref_decode_wav");
    test_golden(dir, ga, "icl.decoder_input_codes", ga, "icl.decoder_output_wav");
    test_golden(dir, g, "long_decode_codes", g, "");
    st_close(g);
    st_close(ga);
    printf("codec bf16: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
