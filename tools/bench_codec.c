/* bench_codec.c — speed of the speech tokenizer on this machine: decoder (and encoder) as multiples of real
 * time for 1 and 2 threads, the work per audio second computed from the shapes, and how close that runs to
 * the machine's peak (measured here: independent 512-bit / 256-bit FMA chains on every core used).
 *
 *   bench_codec [--model DIR] [--seconds S]     (default: /work/models/random-0.6B, else the golden tiny
 * codec)
 */
#include "engine/codec_decoder.h"
#include "engine/codec_gemm.h"
#include "engine/codec_gemm_bf16.h"
#include "engine/config.h"
#include "engine/qt.h"
#include "engine/safetensors.h"

#include <math.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

/* ---- peak: FLOP/s of independent FMA chains ---------------------------------------------------------- */

#if defined(__x86_64__)
#include <immintrin.h>
/* 12 independent chains, each FMA waiting on its own previous result: enough in flight to fill two FMA
 * pipes of 4-cycle latency. Returns the flops done (plus a value the compiler must keep). */
#define CHAINS(T, FMA, SET1, N)                                                                              \
    T a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5), a6 = SET1(6),      \
      a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11), m = SET1(0.999999f),         \
      c = SET1(1e-7f);                                                                                       \
    for (long it = 0; it < iters; it++) {                                                                    \
        a0 = FMA(a0, m, c);                                                                                  \
        a1 = FMA(a1, m, c);                                                                                  \
        a2 = FMA(a2, m, c);                                                                                  \
        a3 = FMA(a3, m, c);                                                                                  \
        a4 = FMA(a4, m, c);                                                                                  \
        a5 = FMA(a5, m, c);                                                                                  \
        a6 = FMA(a6, m, c);                                                                                  \
        a7 = FMA(a7, m, c);                                                                                  \
        a8 = FMA(a8, m, c);                                                                                  \
        a9 = FMA(a9, m, c);                                                                                  \
        a10 = FMA(a10, m, c);                                                                                \
        a11 = FMA(a11, m, c);                                                                                \
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));                   \
    }                                                                                                        \
    T s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;                                       \
    return s[0] + (double)iters * 12 * (N)*2

__attribute__((target("avx512f"))) static double fma_loop_avx512(long iters)
{
    CHAINS(__m512, _mm512_fmadd_ps, _mm512_set1_ps, 16);
}
__attribute__((target("avx2,fma"))) static double fma_loop_avx2(long iters)
{
    CHAINS(__m256, _mm256_fmadd_ps, _mm256_set1_ps, 8);
}
#endif

typedef struct {
    int wide;
    double flops, seconds;
} peak_arg;

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Timed by the thread's own CPU clock, so a busy machine (other processes taking turns on the core) does not
 * lower the figure: this is what a core does while it runs this thread. */
static void *peak_thread(void *p)
{
    peak_arg *a = p;
    long iters = 20000000;
    double t0 = thread_cpu(), f = 0;
#if defined(__x86_64__)
    f = a->wide ? fma_loop_avx512(iters) : fma_loop_avx2(iters);
#endif
    a->seconds = thread_cpu() - t0;
    a->flops = f;
    return NULL;
}

/* Measured peak FLOP/s with n threads running FMA chains at once. */
static double measure_peak(int n, int wide)
{
    pthread_t th[16];
    peak_arg args[16];
    if (n > 16) n = 16;
    for (int i = 0; i < n; i++) {
        args[i].wide = wide;
        pthread_create(&th[i], NULL, peak_thread, &args[i]);
    }
    double total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        total += args[i].flops / args[i].seconds;
    }
    return total;
}

/* ---- decoder ------------------------------------------------------------------------------------------ */

/* The bf16 path (precision int8, docs/engine.md §7.8) on the same codec and codes, right after the float32
 * one pass took t_f32 (f32 holds its samples): its speed, the ratio within this run, its error; and a
 * stream by 4 frames must give its one-pass samples. */
static void bench_bf16(qt_codec *c, const int32_t *codes, int frames, double audio, double t_f32,
                       double cpu_f32, const float *f32, float *out)
{
    qt_error e = {0};
    const char *kname;
    qt_codec_gemm_bf16_get(&kname);
    if (qt_codec_set_bf16(c, 1, &e) != 0 || !qt_codec_bf16(c)) {
        printf("      bf16 path: %s\n",
               e.msg[0] ? e.msg : "not used here (no AMX-BF16): precision int8 decodes in float32");
        return;
    }
    size_t n_out = (size_t)frames * QT_SAMPLES_PER_FRAME;
    qt_codec_decode(c, codes, 2, out, &e); /* warm */
    double t0 = qt_now_ms() / 1e3, c0 = cpu_seconds();
    if (qt_codec_decode(c, codes, frames, out, &e) != 0) {
        printf("      bf16 one pass FAILED: %s\n", e.msg);
        qt_codec_set_bf16(c, 0, &e);
        return;
    }
    double t = qt_now_ms() / 1e3 - t0, cpu = cpu_seconds() - c0, worst = 0;
    for (size_t i = 0; i < n_out; i++) {
        double d = fabs((double)out[i] - f32[i]);
        worst = d > worst || isnan(d) ? d : worst;
    }
    printf("      bf16 (%s), one pass:  %6.2fx real time  (%.2f s): %.2fx the float32 speed (per CPU-second "
           "%.2fx); max abs diff %.2g\n",
           kname, audio / t, t, t_f32 / t, cpu_f32 / cpu, worst);
    float *one = malloc(n_out * sizeof *one);
    qt_codec_stream *s = one ? qt_codec_stream_new(c, &e) : NULL;
    if (s) {
        memcpy(one, out, n_out * sizeof *one);
        size_t wrote;
        t0 = qt_now_ms() / 1e3;
        for (int f = 0; f < frames; f += 4) {
            int k = frames - f < 4 ? frames - f : 4;
            qt_codec_stream_push(s, codes + (size_t)f * QT_CODEBOOKS, k,
                                 out + (size_t)f * QT_SAMPLES_PER_FRAME, (size_t)k * QT_SAMPLES_PER_FRAME,
                                 &wrote, &e);
        }
        t = qt_now_ms() / 1e3 - t0;
        printf("      bf16, stream by 4 frames: %6.2fx real time  (%.2f s)%s\n", audio / t, t,
               memcmp(one, out, n_out * sizeof *out) ? "  MISMATCH with the bf16 one pass"
                                                     : ", same samples");
    }
    qt_codec_stream_free(s);
    free(one);
    qt_codec_set_bf16(c, 0, &e);
}

static int bench_decoder(const char *model, double seconds, double flops_per_frame, double peak1,
                         double peak2)
{
    int frames = (int)(seconds * QT_SAMPLE_RATE / QT_SAMPLES_PER_FRAME + 0.5);
    int32_t *codes = malloc((size_t)frames * QT_CODEBOOKS * sizeof *codes);
    size_t n_out = (size_t)frames * QT_SAMPLES_PER_FRAME;
    float *out = malloc(n_out * sizeof *out), *first = malloc(n_out * sizeof *first);
    int have_first = 0;
    uint32_t x = 12345;
    for (int i = 0; i < frames * QT_CODEBOOKS; i++) {
        x = x * 1664525u + 1013904223u;
        codes[i] = (int32_t)((x >> 8) % QT_CODEBOOK_SIZE);
    }
    double audio = (double)frames * QT_SAMPLES_PER_FRAME / QT_SAMPLE_RATE;
    double work = flops_per_frame * frames;
    printf("decoder: %d frames (%.1f s of audio), %.1f GFLOP per audio second (from the shapes)\n", frames,
           audio, flops_per_frame * QT_SAMPLE_RATE / QT_SAMPLES_PER_FRAME * 1e-9);
    for (int threads = 1; threads <= 2; threads++) {
        qt_error e = {0};
        qt_codec *c = qt_codec_load(model, threads, &e);
        if (!c) {
            fprintf(stderr, "bench_codec: %s\n", e.msg);
            return 1;
        }
        double peak = threads == 1 ? peak1 : peak2;
        qt_codec_decode(c, codes, 2, out, &e); /* warm: page in the weights */
        double t0 = (qt_now_ms() / 1e3), c0 = cpu_seconds();
        if (qt_codec_decode(c, codes, frames, out, &e) != 0) {
            fprintf(stderr, "bench_codec: %s\n", e.msg);
            qt_codec_free(c);
            return 1;
        }
        double t = (qt_now_ms() / 1e3) - t0, cpu = cpu_seconds() - c0, t_f32 = t, cpu_f32 = cpu;
        printf("  %d thread%s, one pass:        %6.2fx real time  (%.2f s wall; %.1f GFLOP/s = %.0f%% of the "
               "peak %.0f GFLOP/s)\n",
               threads, threads > 1 ? "s" : " ", audio / t, t, work / t * 1e-9, 100.0 * work / t / peak,
               peak * 1e-9);
        /* On a shared machine the wall clock counts other processes' turns too; per CPU-second it does not
         * (but it counts our workers' spinning as work). */
        printf("      the process ran %.0f%% of the time on %d core%s: per CPU-second %.2fx real time each "
               "core, "
               "%.1f GFLOP/s = %.0f%% of one core's peak\n",
               100.0 * cpu / t / threads, threads, threads > 1 ? "s" : "", audio / cpu, work / cpu * 1e-9,
               100.0 * work / cpu / peak1);
        /* the real shapes take other kernel paths than the tiny test codec: check the bit-identity here too
         */
        if (!have_first) {
            memcpy(first, out, n_out * sizeof *out);
            have_first = 1;
        } else if (memcmp(first, out, n_out * sizeof *out)) {
            printf("  MISMATCH: one pass with %d threads differs from 1 thread\n", threads);
        }
        if (threads == 1 && frames > 8) { /* ICL: skip a reference, then push; the tail must match */
            int ref = frames / 2;
            qt_codec_stream *s = qt_codec_stream_new(c, &e);
            size_t wrote, from = (size_t)ref * QT_SAMPLES_PER_FRAME;
            t0 = (qt_now_ms() / 1e3);
            int rc = s ? qt_codec_stream_skip(s, codes, ref, &e) : -1;
            double t_skip = (qt_now_ms() / 1e3) - t0;
            if (rc == 0)
                rc = qt_codec_stream_push(s, codes + (size_t)ref * QT_CODEBOOKS, frames - ref, out + from,
                                          n_out - from, &wrote, &e);
            qt_codec_stream_free(s);
            printf("  1 thread , skip %d reference frames: %.2f s (pushing them: ~%.2f s)%s\n", ref, t_skip,
                   t * ref / frames,
                   rc ? "  FAILED"
                   : memcmp(first + from, out + from, (n_out - from) * sizeof *out)
                       ? "  MISMATCH after the skip"
                       : ", then the same samples as one pass");
        }
        for (int step = 1; step <= 4; step *= 4) { /* streaming as generation would feed it */
            qt_codec_stream *s = qt_codec_stream_new(c, &e);
            if (!s) break;
            t0 = (qt_now_ms() / 1e3);
            size_t wrote;
            for (int f = 0; f < frames; f += step) {
                int k = frames - f < step ? frames - f : step;
                qt_codec_stream_push(s, codes + (size_t)f * QT_CODEBOOKS, k,
                                     out + (size_t)f * QT_SAMPLES_PER_FRAME, (size_t)k * QT_SAMPLES_PER_FRAME,
                                     &wrote, &e);
            }
            t = (qt_now_ms() / 1e3) - t0;
            qt_codec_stream_free(s);
            printf("  %d thread%s, stream by %d frame%s: %6.2fx real time  (%.2f s)%s\n", threads,
                   threads > 1 ? "s" : " ", step, step > 1 ? "s" : " ", audio / t, t,
                   memcmp(first, out, n_out * sizeof *out) ? "  MISMATCH with one pass" : ", same samples");
        }
        bench_bf16(c, codes, frames, audio, t_f32, cpu_f32, first, out);
        qt_codec_free(c);
    }
    free(codes);
    free(out);
    free(first);
    return 0;
}

int main(int argc, char **argv)
{
    const char *model = NULL;
    double seconds = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_codec [--model DIR] [--seconds S]\n");
            return 2;
        }
    }
    if (!model)
        model = access("/work/models/random-0.6B/speech_tokenizer/model.safetensors", R_OK) == 0
                    ? "/work/models/random-0.6B"
                    : "/work/shared/golden/tiny-a";
    printf("speech tokenizer: %s\n", model);

    /* the work per frame, from the decoder's shapes */
    char dir[4096], path[4200];
    qt_error e = {0};
    if (qt_speech_tokenizer_dir(model, dir, sizeof dir, &e) != 0) snprintf(dir, sizeof dir, "%s", model);
    qt_codec_config cfg;
    if (qt_codec_config_load(dir, &cfg, &e) != 0) {
        fprintf(stderr, "bench_codec: %s\n", e.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_file *f = st_open(path, &e);
    codec_decoder *d = f ? codec_decoder_load(f, &cfg.decoder, &e) : NULL;
    if (!d) {
        fprintf(stderr, "bench_codec: %s\n", e.msg);
        st_close(f);
        return 1;
    }
    double fpf = codec_decoder_flops_per_frame(d);
    codec_decoder_free(d);
    st_close(f);

    const char *kname;
    qt_codec_gemm_get(&kname);
    int wide = !strcmp(kname, "avx512");
    double peak1 = measure_peak(1, wide), peak2 = measure_peak(2, wide);
    printf("kernels: %s; FMA peak (%s chains, per CPU-second of each thread): %.0f GFLOP/s on 1 core, %.0f "
           "on 2\n",
           kname, wide ? "512-bit" : "256-bit", peak1 * 1e-9, peak2 * 1e-9);
    if (bench_decoder(model, seconds, fpf, peak1, peak2) != 0) return 1;
    /* encoder: see below (the encoder's section) */
    return 0;
}
