/* test_codec_decoder.c — the speech-tokenizer decoder against the golden fixtures (docs/engine.md §7).
 *
 * Every golden decoder stage on ref_codes, every golden code sequence (ref_codes, both tiny models'
 * decoder_input_codes, the 310-frame exact target) within 1e-3 (errors printed even when passing);
 * streaming == one pass bit for bit (pushes of 1, 3, 7, 40 frames; 1 and 2 threads; a lent pool); skipping
 * the ICL reference then pushing == the tail of one pass (and the golden icl.wav); a long stream's memory
 * stays flat; out-of-range codes refused naming frame and codebook; the SIMD products and SnakeBeta against
 * the plain ones (and libm's sin), including that any split of a product gives the same bits.
 */
#include "engine/codec.h"
#include "engine/codec_decoder.h"
#include "engine/codec_gemm.h"
#include "engine/codec_snake.h"
#include "engine/config.h"
#include "engine/qt.h"
#include "engine/safetensors.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAVE_TOL 1e-3
#define STAGE_TOL 1e-3
#define STREAM_TOL 1e-5

static char golden[4096];

static void fail_msg(const char *what, const qt_error *e)
{
    printf("FAIL: %s: %s\n", what, e ? e->msg : "");
    failures++;
}

/* Max |got - exp| over n values; prints it, and on failure the first offending index with both values. */
static double compare(const char *what, const float *got, const float *exp, size_t n, double tol)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)exp[i]);
        if (!(d <= worst)) { /* NaN counts as worst */
            worst = isnan(d) ? INFINITY : d;
            at = i;
        }
    }
    int ok = worst <= tol;
    printf("%s: %-48s max abs err %.3g (tol %.0e) over %zu values\n", ok ? "ok  " : "FAIL", what, worst, tol,
           n);
    if (!ok) {
        printf("      at index %zu: expected %.7g, got %.7g\n", at, exp[at], got[at]);
        failures++;
    }
    return worst;
}

static const float *gf32(const st_file *f, const char *name, size_t n)
{
    const st_tensor *t = st_find(f, name);
    if (!t || t->dtype != ST_F32 || (size_t)t->n_elements != n) {
        printf("FAIL: golden tensor '%s' missing or not F32[%zu]\n", name, n);
        failures++;
        return NULL;
    }
    float *copy = malloc(n * sizeof *copy); /* the mapping need not be aligned */
    memcpy(copy, t->data, n * sizeof *copy);
    return copy;
}

/* An I64 [frames, 16] code tensor as int32; *frames receives its length. */
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

static st_file *open_golden(const char *rel)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", golden, rel);
    qt_error e = {0};
    st_file *f = st_open(path, &e);
    if (!f) fail_msg(rel, &e);
    return f;
}

/* ---- stages ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *stage;
    float *data;
    int channels, len;
} captured;

static captured caps[8];

static void on_tap(void *ctx, const char *stage, const float *x, int channels, int len)
{
    (void)ctx;
    for (int i = 0; i < 8; i++) {
        if (!caps[i].stage) {
            caps[i].stage = stage;
            caps[i].channels = channels;
            caps[i].len = len;
            caps[i].data = malloc((size_t)channels * len * sizeof(float));
            memcpy(caps[i].data, x, (size_t)channels * len * sizeof(float));
            return;
        }
    }
}

static const captured *find_cap(const char *stage)
{
    for (int i = 0; i < 8; i++)
        if (caps[i].stage && !strcmp(caps[i].stage, stage)) return &caps[i];
    return NULL;
}

static void check_stage(const st_file *g, const char *stage, const char *golden_name, int time_major)
{
    const captured *c = find_cap(stage);
    const st_tensor *t = st_find(g, golden_name);
    if (!c || !t) {
        printf("FAIL: stage %s: %s\n", stage, c ? "golden tensor missing" : "never reported");
        failures++;
        return;
    }
    size_t n = (size_t)c->channels * c->len;
    if ((size_t)t->n_elements != n) {
        printf("FAIL: stage %s: %d x %d values, golden '%s' has %lld\n", stage, c->channels, c->len,
               golden_name, (long long)t->n_elements);
        failures++;
        return;
    }
    const float *exp = gf32(g, golden_name, n);
    float *got = malloc(n * sizeof *got);
    if (time_major) /* golden [len, channels] */
        for (int ch = 0; ch < c->channels; ch++)
            for (int l = 0; l < c->len; l++)
                got[(size_t)l * c->channels + ch] = c->data[(size_t)ch * c->len + l];
    else
        memcpy(got, c->data, n * sizeof *got);
    char what[128];
    snprintf(what, sizeof what, "stage %s (ref_codes)", golden_name);
    compare(what, got, exp, n, STAGE_TOL);
    free(got);
    free((void *)exp);
}

static void test_stages(const st_file *g)
{
    char dir[4300], path[4400];
    snprintf(dir, sizeof dir, "%s/speech_tokenizer", golden);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    qt_error e = {0};
    qt_codec_config cfg;
    if (qt_codec_config_load(dir, &cfg, &e) != 0) {
        fail_msg("speech tokenizer config", &e);
        return;
    }
    st_file *f = st_open(path, &e);
    codec_decoder *d = f ? codec_decoder_load(f, &cfg.decoder, &e) : NULL;
    int frames = 0;
    int32_t *codes = gcodes(g, "ref_codes", &frames);
    codec_dec_state *s = d ? codec_dec_state_new(d, frames, 1, &e) : NULL;
    if (!s || !codes) {
        fail_msg("decoder load", &e);
    } else {
        float *out = malloc((size_t)frames * QT_SAMPLES_PER_FRAME * sizeof *out);
        codec_dec_state_set_tap(s, on_tap, NULL);
        codec_decoder_step(d, s, NULL, codes, frames, out);
        check_stage(g, "quantizer", "dec_quantizer_out", 0);
        check_stage(g, "pre_conv", "dec_pre_conv_out", 0);
        check_stage(g, "pre_transformer", "dec_pre_transformer_out", 1);
        check_stage(g, "upsample", "dec_upsample_out", 0);
        check_stage(g, "decoder0", "dec_decoder0_out", 0);
        check_stage(g, "final_preclamp", "dec_final_preclamp", 0);
        const float *exp = gf32(g, "ref_decode_wav", (size_t)frames * QT_SAMPLES_PER_FRAME);
        if (exp)
            compare("one step of 43 frames vs ref_decode_wav", out, exp,
                    (size_t)frames * QT_SAMPLES_PER_FRAME, WAVE_TOL);
        free((void *)exp);
        free(out);
        printf("      flops per frame (tiny codec): %.3g\n", codec_decoder_flops_per_frame(d));
    }
    for (int i = 0; i < 8; i++)
        free(caps[i].data);
    free(codes);
    codec_dec_state_free(s);
    codec_decoder_free(d);
    st_close(f);
}

/* ---- whole sequences --------------------------------------------------------------------------------- */

static float *decode_all(qt_codec *c, const int32_t *codes, int frames, const char *what)
{
    float *out = malloc(((size_t)frames * QT_SAMPLES_PER_FRAME + 1) * sizeof *out);
    qt_error e = {0};
    if (qt_codec_decode(c, codes, frames, out, &e) != 0) {
        fail_msg(what, &e);
        free(out);
        return NULL;
    }
    return out;
}

static void test_sequence(qt_codec *c, const st_file *g, const char *codes_name, const st_file *gw,
                          const char *wav_name, const char *label)
{
    int frames = 0;
    int32_t *codes = gcodes(g, codes_name, &frames);
    if (!codes) return;
    size_t n = (size_t)frames * QT_SAMPLES_PER_FRAME;
    const float *exp = gf32(gw, wav_name, n);
    float *got = exp ? decode_all(c, codes, frames, label) : NULL;
    if (got) {
        char what[160];
        snprintf(what, sizeof what, "%s (%d frames)", label, frames);
        compare(what, got, exp, n, WAVE_TOL);
    }
    free(got);
    free((void *)exp);
    free(codes);
}

/* Streaming in pushes of `step` frames equals the one-pass output. */
static void test_stream(qt_codec *c, const int32_t *codes, int frames, const float *whole, int step,
                        int threads)
{
    qt_error e = {0};
    qt_codec_stream *s = qt_codec_stream_new(c, &e);
    if (!s) {
        fail_msg("stream new", &e);
        return;
    }
    size_t n = (size_t)frames * QT_SAMPLES_PER_FRAME, at = 0;
    float *got = malloc(n * sizeof *got);
    for (int t = 0; t < frames; t += step) {
        int k = frames - t < step ? frames - t : step;
        size_t wrote = 0;
        if (qt_codec_stream_push(s, codes + (size_t)t * QT_CODEBOOKS, k, got + at, n - at, &wrote, &e) != 0) {
            fail_msg("stream push", &e);
            goto done;
        }
        if (wrote != (size_t)k * QT_SAMPLES_PER_FRAME) {
            printf("FAIL: push of %d frames wrote %zu samples, expected %d\n", k, wrote,
                   k * QT_SAMPLES_PER_FRAME);
            failures++;
            goto done;
        }
        at += wrote;
    }
    size_t tail = 99;
    if (qt_codec_stream_finish(s, NULL, 0, &tail, &e) != 0 || tail != 0) {
        printf("FAIL: finish wrote %zu samples (%s), expected 0\n", tail, e.msg);
        failures++;
    }
    if (qt_codec_stream_push(s, codes, 1, got, n, &tail, &e) == 0) {
        printf("FAIL: push after finish was accepted\n");
        failures++;
    }
    char what[128];
    snprintf(what, sizeof what, "stream in pushes of %d, %d thread(s), vs one pass", step, threads);
    compare(what, got, whole, n, STREAM_TOL);
done:
    free(got);
    qt_codec_stream_free(s);
}

static void test_bad_codes(qt_codec *c, const int32_t *codes, int frames)
{
    int32_t *bad = malloc((size_t)frames * QT_CODEBOOKS * sizeof *bad);
    float *out = malloc((size_t)frames * QT_SAMPLES_PER_FRAME * sizeof *out);
    static const struct {
        int frame, book;
        int32_t value;
    } cases[] = {{0, 0, -1}, {3, 7, 2048}, {5, 15, 1 << 30}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, codes, (size_t)frames * QT_CODEBOOKS * sizeof *bad);
        bad[cases[i].frame * QT_CODEBOOKS + cases[i].book] = cases[i].value;
        qt_error e = {0};
        char want[64];
        snprintf(want, sizeof want, "frame %d, codebook %d", cases[i].frame, cases[i].book);
        int rc = qt_codec_decode(c, bad, frames, out, &e);
        if (rc == 0 || e.kind != QT_ERR_INVALID || !strstr(e.msg, want)) {
            printf("FAIL: code %ld at frame %d codebook %d: rc %d, error '%s' (expected one naming '%s')\n",
                   (long)cases[i].value, cases[i].frame, cases[i].book, rc, e.msg, want);
            failures++;
        } else {
            printf("ok  : code %ld refused: %s\n", (long)cases[i].value, e.msg);
        }
    }
    free(bad);
    free(out);
}

static void test_snake_kernels(void)
{
    size_t n = 100003;
    float *x = malloc(n * sizeof *x), *ref = malloc(n * sizeof *ref), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) /* -60..60 */
        x[i] = (float)(-60.0 + 120.0 * (double)i / (double)n);
    float a = 21.7f, ib = 0.81f; /* |a*x| up to 1300 */
    for (size_t i = 0; i < n; i++) {
        double s = sin((double)(x[i] * a)); /* the argument rounded to float, as the model computes it */
        ref[i] = (float)((double)x[i] + ib * s * s);
    }
    qt_snake_fn fns[3] = {qt_snake_row_scalar, qt_snake_row_avx2, qt_snake_row_avx512};
    const char *names[3] = {"scalar", "avx2", "avx512"};
    for (int k = 0; k < 3; k++) {
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (k == 1 && !__builtin_cpu_supports("avx2")) continue;
        if (k == 2 && !__builtin_cpu_supports("avx512f")) continue;
#endif
        for (size_t len = 1; len <= 37; len++) { /* tails: lengths that are not a multiple of the vector */
            fns[k](y, x + 5000, len, a, ib);
            for (size_t i = 0; i < len; i++)
                if (fabsf(y[i] - ref[5000 + i]) > 1e-5f) {
                    printf("FAIL: snake %s len %zu at %zu: x %.7g expected %.7g got %.7g\n", names[k], len, i,
                           x[5000 + i], ref[5000 + i], y[i]);
                    failures++;
                    len = 38;
                    break;
                }
        }
        fns[k](y, x, n, a, ib);
        char what[64];
        snprintf(what, sizeof what, "snake %s vs double sin, |x*a| <= 1300", names[k]);
        compare(what, y, ref, n, 8e-6); /* 2 ulp at 60 */
        memcpy(y, x, n * sizeof *y);    /* in place */
        fns[k](y, y, n, a, ib);
        snprintf(what, sizeof what, "snake %s in place", names[k]);
        compare(what, y, ref, n, 8e-6); /* 2 ulp at 60 */
    }
    free(x);
    free(ref);
    free(y);
}

/* The SIMD products against the plain one, on odd shapes (edges in every dimension) and a transposed A;
 * and the property streaming relies on: any split of the columns or rows gives the same bits. */
static void test_gemm_kernels(void)
{
    static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {9, 33, 17}, {17, 70, 130}, {64, 100, 300}};
    qt_codec_gemm_fn fns[3] = {qt_codec_gemm_scalar, qt_codec_gemm_avx2, qt_codec_gemm_avx512};
    const char *names[3] = {"scalar", "avx2", "avx512"};
    srand(7);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
        float *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)K * N * sizeof *B);
        float *C0 = malloc((size_t)M * N * sizeof *C0), *C = malloc((size_t)M * N * sizeof *C);
        float *C2 = malloc((size_t)M * N * sizeof *C2);
        for (int i = 0; i < M * K; i++)
            A[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
        for (int i = 0; i < K * N; i++)
            B[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
        for (int tr = 0; tr < 2; tr++) { /* tr: A stored as [K, M] */
            ptrdiff_t rs = tr ? 1 : K, ks = tr ? M : 1;
            for (int i = 0; i < M * N; i++)
                C0[i] = (float)(i % 7) * 0.1f;
            qt_codec_gemm_scalar(M, N, K, A, rs, ks, B, N, C0, N);
            for (int k = 1; k < 3; k++) {
#if defined(__x86_64__)
                __builtin_cpu_init();
                if (k == 1 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) continue;
                if (k == 2 && !__builtin_cpu_supports("avx512f")) continue;
#endif
                for (int i = 0; i < M * N; i++)
                    C[i] = C2[i] = (float)(i % 7) * 0.1f;
                fns[k](M, N, K, A, rs, ks, B, N, C, N);
                char what[96];
                snprintf(what, sizeof what, "gemm %s vs plain, %dx%dx%d%s", names[k], M, N, K,
                         tr ? " (A^T)" : "");
                compare(what, C, C0, (size_t)M * N, 2e-6 * K);
                /* split: columns in pieces of 5 then rows in pieces of 3 -> identical bits */
                for (int n0 = 0; n0 < N; n0 += 5)
                    for (int m0 = 0; m0 < M; m0 += 3)
                        fns[k](M - m0 < 3 ? M - m0 : 3, N - n0 < 5 ? N - n0 : 5, K, A + m0 * rs, rs, ks,
                               B + n0, N, C2 + (size_t)m0 * N + n0, N);
                if (memcmp(C, C2, (size_t)M * N * sizeof *C)) {
                    printf("FAIL: %s: a split product differs from the whole one\n", what);
                    failures++;
                }
            }
        }
        free(A);
        free(B);
        free(C0);
        free(C);
        free(C2);
    }
}

/* Resident memory now, in KiB (Linux /proc/self/statm), or -1. */
static long rss_kib(void)
{
    long pages = -1, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A long stream (800 frames, 11x the attention window, 64 s) keeps its memory: the resident size after the
 * first 200 frames does not grow by more than 1 MiB over the next 600. */
static void test_long_stream_memory(qt_codec *c)
{
    qt_error e = {0};
    qt_codec_stream *s = qt_codec_stream_new(c, &e);
    if (!s) {
        fail_msg("stream new", &e);
        return;
    }
    enum { STEP = 5, TOTAL = 800, WARM = 200 };
    int32_t codes[STEP * QT_CODEBOOKS];
    float *pcm = malloc((size_t)STEP * QT_SAMPLES_PER_FRAME * sizeof *pcm);
    uint32_t x = 99;
    long rss_warm = 0;
    for (int f = 0; f < TOTAL; f += STEP) {
        for (int i = 0; i < STEP * QT_CODEBOOKS; i++) {
            x = x * 1664525u + 1013904223u;
            codes[i] = (int32_t)((x >> 8) % QT_CODEBOOK_SIZE);
        }
        size_t wrote;
        if (qt_codec_stream_push(s, codes, STEP, pcm, (size_t)STEP * QT_SAMPLES_PER_FRAME, &wrote, &e) != 0) {
            fail_msg("long stream push", &e);
            break;
        }
        if (f + STEP == WARM) rss_warm = rss_kib();
    }
    long grew = rss_kib() - rss_warm;
    int ok = grew <= 1024 && qt_codec_stream_frames(s) == TOTAL;
    printf("%s: long stream: %d frames pushed, resident memory grew %ld KiB after frame %d (limit 1024)\n",
           ok ? "ok  " : "FAIL", qt_codec_stream_frames(s), grew, WARM);
    failures += !ok;
    free(pcm);
    qt_codec_stream_free(s);
}

/* ICL: skipping the reference frames and pushing the generated ones gives bit for bit the tail of decoding
 * everything (and so the golden wav after the cut); also for a skip in the middle of a stream and for skips
 * shorter than the vocoder's reach. */
static void test_skip(qt_codec *c, const st_file *gm, const char *label)
{
    int frames = 0, n_ref = 0;
    int32_t *codes = gcodes(gm, "icl.decoder_input_codes", &frames);
    int32_t *ref = gcodes(gm, "icl.ref_codes", &n_ref);
    float *whole = codes ? decode_all(c, codes, frames, "icl one pass") : NULL;
    const float *golden_wav =
        whole && n_ref < frames ? gf32(gm, "icl.wav", (size_t)(frames - n_ref) * QT_SAMPLES_PER_FRAME) : NULL;
    if (!codes || !ref || !whole || !golden_wav) {
        printf("FAIL: %s: ICL fixtures unusable\n", label);
        failures++;
        goto done;
    }
    /* skip and push alternate, starting with a skip; 0 ends a plan. All cover the 67 frames. */
    static const int plans[][7] = {{43, 24, 0}, {10, 20, 13, 24, 0}, {2, 3, 1, 2, 3, 56}, {43, 5, 1, 18, 0}};
    for (size_t p = 0; p < sizeof plans / sizeof plans[0]; p++) {
        qt_error e = {0};
        qt_codec_stream *st = qt_codec_stream_new(c, &e);
        float *got = calloc((size_t)frames * QT_SAMPLES_PER_FRAME, sizeof *got);
        int at = 0, ok = st != NULL, last_skip_end = 0;
        char plan[96] = "";
        for (int i = 0; plans[p][i] && ok; i++) {
            int n = plans[p][i];
            size_t wrote;
            char part[24];
            snprintf(part, sizeof part, "%s%s %d", i ? ", " : "", i % 2 ? "push" : "skip", n);
            strncat(plan, part, sizeof plan - strlen(plan) - 1);
            if (i % 2 == 0) {
                ok = qt_codec_stream_skip(st, codes + (size_t)at * QT_CODEBOOKS, n, &e) == 0;
                last_skip_end = at + n;
            } else {
                ok = qt_codec_stream_push(st, codes + (size_t)at * QT_CODEBOOKS, n,
                                          got + (size_t)at * QT_SAMPLES_PER_FRAME,
                                          (size_t)n * QT_SAMPLES_PER_FRAME, &wrote, &e) == 0;
            }
            at += n;
        }
        if (!ok) {
            fail_msg(plan, &e);
        } else {
            char what[160];
            size_t from = (size_t)last_skip_end * QT_SAMPLES_PER_FRAME;
            snprintf(what, sizeof what, "%s [%s] vs one pass", label, plan);
            compare(what, got + from, whole + from, (size_t)frames * QT_SAMPLES_PER_FRAME - from, 0.0);
            if (p == 0) {
                snprintf(what, sizeof what, "%s skip ref + push vs golden icl.wav", label);
                compare(what, got + (size_t)n_ref * QT_SAMPLES_PER_FRAME, golden_wav,
                        (size_t)(frames - n_ref) * QT_SAMPLES_PER_FRAME, WAVE_TOL);
            }
        }
        free(got);
        qt_codec_stream_free(st);
    }
done:
    free(codes);
    free(ref);
    free(whole);
    free((void *)golden_wav);
}

int main(void)
{
    snprintf(golden, sizeof golden, "%s", golden_dir());
    char probe[4400];
    snprintf(probe, sizeof probe, "%s/expected/speech_tokenizer_golden.safetensors", golden);
    FILE *pf = fopen(probe, "rb");
    if (!pf) {
        printf("skip: no golden fixtures at '%s'\n", golden);
        return 77;
    }
    fclose(pf);
    test_snake_kernels();
    test_gemm_kernels();

    st_file *g = open_golden("expected/speech_tokenizer_golden.safetensors");
    st_file *gx = open_golden("expected/long_decode_exact.safetensors");
    st_file *ga = open_golden("expected/tiny-a/golden.safetensors");
    st_file *gb = open_golden("expected/tiny-b/golden.safetensors");
    if (!g || !gx || !ga || !gb) goto out;
    test_stages(g);

    char dir[4400];
    snprintf(dir, sizeof dir, "%s/tiny-a", golden); /* a model dir: its speech_tokenizer/ is used */
    qt_error e = {0};
    qt_codec *c = qt_codec_load(dir, 1, &e);
    if (!c) {
        fail_msg("qt_codec_load(tiny-a)", &e);
        goto out;
    }
    test_sequence(c, g, "ref_codes", g, "ref_decode_wav", "ref_codes vs ref_decode_wav");
    test_sequence(c, ga, "icl.decoder_input_codes", ga, "icl.decoder_output_wav",
                  "tiny-a icl decoder_input_codes");
    test_sequence(c, ga, "xvec.decoder_input_codes", ga, "xvec.decoder_output_wav",
                  "tiny-a xvec decoder_input_codes");
    test_sequence(c, gb, "icl.decoder_input_codes", gb, "icl.decoder_output_wav",
                  "tiny-b icl decoder_input_codes");
    test_sequence(c, gb, "xvec.decoder_input_codes", gb, "xvec.decoder_output_wav",
                  "tiny-b xvec decoder_input_codes");
    test_sequence(c, g, "long_decode_codes", gx, "long_decode_wav_exact",
                  "long_decode_codes vs exact target");
    test_skip(c, ga, "tiny-a icl");
    test_skip(c, gb, "tiny-b icl");

    /* streaming == one pass, on the first 150 of the 310 frames (twice the 72-frame window, many 8-frame
     * steps); a decode of a prefix is the prefix of the decode (everything is causal) */
    int all = 0, frames = 150;
    int32_t *codes = gcodes(g, "long_decode_codes", &all);
    float *whole = codes && all >= frames ? decode_all(c, codes, all, "one pass") : NULL;
    float *prefix = whole ? decode_all(c, codes, frames, "one pass of a prefix") : NULL;
    if (prefix)
        compare("decode of 150 frames vs the first 150 of 310", prefix, whole,
                (size_t)frames * QT_SAMPLES_PER_FRAME, 0.0);
    free(prefix);
    if (whole) {
        static const int steps[] = {1, 3, 7, 40};
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
            test_stream(c, codes, frames, whole, steps[i], 1);
        test_bad_codes(c, codes, frames);
        test_long_stream_memory(c);
        snprintf(dir, sizeof dir, "%s/speech_tokenizer", golden); /* the codec dir itself, two threads */
        qt_codec *c2 = qt_codec_load(dir, 2, &e);
        if (!c2) {
            fail_msg("qt_codec_load(speech_tokenizer, 2 threads)", &e);
        } else {
            float *two = decode_all(c2, codes, frames, "one pass, 2 threads");
            if (two)
                compare("one pass, 2 threads vs 1 thread", two, whole, (size_t)frames * QT_SAMPLES_PER_FRAME,
                        STREAM_TOL);
            free(two);
            test_stream(c2, codes, frames, whole, 3, 2);
            qt_codec_free(c2);
        }
        qt_pool *pool = qt_pool_new(2); /* a lent pool (the model's, in a generation) */
        qt_codec *c3 = pool ? qt_codec_load_shared(dir, pool, &e) : NULL;
        if (!c3) {
            fail_msg("qt_codec_load_shared(speech_tokenizer, a 2-thread pool)", &e);
        } else {
            float *lent = decode_all(c3, codes, frames, "one pass on a lent pool");
            if (lent)
                compare("one pass on a lent 2-thread pool vs 1 thread", lent, whole,
                        (size_t)frames * QT_SAMPLES_PER_FRAME, STREAM_TOL);
            free(lent);
            qt_codec_free(c3);
        }
        qt_pool_free(pool); /* after the codec: it was only lent */
    }
    free(whole);
    free(codes);
    qt_codec_free(c);

    snprintf(dir, sizeof dir, "%s/audio", golden); /* a dir without speech_tokenizer/ */
    c = qt_codec_load(dir, 1, &e);
    if (c || e.kind != QT_ERR_NOT_FOUND) {
        printf("FAIL: qt_codec_load of '%s' (no speech_tokenizer/): %s\n", dir, c ? "loaded" : e.msg);
        failures++;
        qt_codec_free(c);
    } else {
        printf("ok  : no speech_tokenizer/: %s\n", e.msg);
    }
out:
    st_close(g);
    st_close(gx);
    st_close(ga);
    st_close(gb);
    printf("%s\n", failures ? "codec decoder: FAILED" : "codec decoder: ok");
    return failures != 0;
}
