/* bench_codec_encoder.c — speed of the speech tokenizer's encoder (audio -> codes) on a real-shape tokenizer.
 *
 *   bench_codec_encoder [--model DIR] [--seconds S] [--reps N] [--threads LIST]
 *
 * DIR: a model directory (its speech_tokenizer/ is used) or a speech_tokenizer directory; default
 * /work/models/random-0.6B (from `voicebox dev random-model --shape 0.6B`). Encodes S seconds (default 10)
 * of a deterministic speech-like test signal with 1 and 2 threads (or LIST, e.g. "1,2,4") and prints the
 * speed as a multiple of real time, the work from the shapes (codec_encoder_flops_per_second) as GFLOP/s,
 * and that rate against the machine's sgemm peak measured here with the same thread count (the most a GEMM
 * bound encoder could reach). On a busy machine both figures are noisy: run it twice. Not a test: nothing
 * here fails on a slow machine.
 */
#include "engine/codec_encoder.h"
#include "engine/qt.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Speech-like: a gliding harmonic voice with syllable-rate envelope, plus a little noise. */
static float *test_signal(size_t n, int rate)
{
    float *x = malloc(n * sizeof *x);
    if (!x) return NULL;
    uint32_t s = 12345;
    double phase = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double f0 = 120.0 + 30.0 * sin(2 * M_PI * 0.7 * t);
        phase += 2 * M_PI * f0 / rate;
        double v = 0;
        for (int h = 1; h <= 8; h++)
            v += sin(h * phase) / h;
        double env = 0.5 + 0.5 * sin(2 * M_PI * 4.0 * t);
        s = s * 1664525u + 1013904223u;
        double noise = ((double)(s >> 8) / (1u << 24) - 0.5) * 0.02;
        x[i] = (float)(0.15 * env * v + noise);
    }
    return x;
}

/* Best sgemm rate (GFLOP/s) on large square products with the given OpenBLAS thread count. */
static double sgemm_peak(int threads)
{
    const int n = 1536;
    float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b),
          *c = malloc((size_t)n * n * sizeof *c);
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return 0;
    }
    for (size_t i = 0; i < (size_t)n * n; i++)
        a[i] = b[i] = (float)(i % 7) * 0.1f;
    int prev = openblas_get_num_threads();
    openblas_set_num_threads(threads);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = (qt_now_ms() / 1e3);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double g = 2.0 * n * n * n / ((qt_now_ms() / 1e3) - t0) / 1e9;
        if (g > best) best = g;
    }
    openblas_set_num_threads(prev);
    free(a);
    free(b);
    free(c);
    return best;
}

int main(int argc, char **argv)
{
    const char *model = "/work/models/random-0.6B", *threads_list = "1,2";
    double seconds = 10;
    int reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads_list = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--model DIR] [--seconds S] [--reps N] [--threads 1,2]\n", argv[0]);
            return 2;
        }
    }
    if (seconds <= 0 || reps < 1) {
        fprintf(stderr, "bench_codec_encoder: --seconds and --reps must be positive\n");
        return 2;
    }

    qt_error err = {0};
    char dir[4096], path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/speech_tokenizer", model);
    if (stat(path, &sb) == 0) {
        if (qt_speech_tokenizer_dir(model, dir, sizeof dir, &err)) {
            fprintf(stderr, "bench_codec_encoder: %s\n", err.msg);
            return 1;
        }
    } else {
        snprintf(dir, sizeof dir, "%s", model);
    }
    qt_codec_config cfg;
    if (qt_codec_config_load(dir, &cfg, &err)) {
        fprintf(stderr, "bench_codec_encoder: %s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_file *f = st_open(path, &err);
    codec_encoder *e = f ? codec_encoder_load(f, &cfg, 0, &err) : NULL;
    if (!e) {
        fprintf(stderr, "bench_codec_encoder: %s\n", err.msg);
        st_close(f);
        return 1;
    }
    int rate = codec_encoder_sample_rate(e);
    size_t n = (size_t)(seconds * rate);
    float *pcm = test_signal(n, rate);
    int frames = (int)((n + codec_encoder_frame_samples(e) - 1) / codec_encoder_frame_samples(e));
    int32_t *codes = malloc((size_t)frames * codec_encoder_codebooks(e) * sizeof *codes);
    if (!pcm || !codes) {
        fprintf(stderr, "bench_codec_encoder: no memory\n");
        return 1;
    }
    double flops = codec_encoder_flops_per_second(e, seconds);
    printf("codec encoder: %s\n", dir);
    printf("  hidden %d, %d transformer layers, %d codebooks; %.2f s of audio (%d frames), %d reps (best)\n",
           cfg.encoder.hidden, cfg.encoder.n_layers, codec_encoder_codebooks(e), seconds, frames, reps);
    printf("  work from the shapes: %.2f GFLOP per second of audio\n", flops / 1e9);

    int rc = 0;
    for (const char *p = threads_list; *p;) {
        int threads = atoi(p);
        if (threads < 1) threads = 1;
        qt_pool *pool = qt_pool_new(threads);
        if (!pool) {
            fprintf(stderr, "bench_codec_encoder: cannot start %d threads\n", threads);
            return 1;
        }
        double best = INFINITY;
        for (int r = 0; r <= reps; r++) { /* r == 0 warms up */
            double t0 = (qt_now_ms() / 1e3);
            if (codec_encoder_run(e, pool, pcm, n, codes, NULL, &err)) {
                fprintf(stderr, "bench_codec_encoder: %s\n", err.msg);
                rc = 1;
                break;
            }
            double dt = (qt_now_ms() / 1e3) - t0;
            if (r > 0 && dt < best) best = dt;
        }
        qt_pool_free(pool);
        if (rc) break;
        double gflops = flops * seconds / best / 1e9, peak = sgemm_peak(threads);
        printf("  %d thread%s: %.3f s -> %.2fx real time, %.1f GFLOP/s (%.0f%% of this machine's sgemm peak "
               "%.1f GFLOP/s at %d thread%s)\n",
               threads, threads > 1 ? "s" : " ", best, seconds / best, gflops, 100.0 * gflops / peak, peak,
               threads, threads > 1 ? "s" : "");
        if (threads == 2)
            printf("  target >= 4x real time on 2 cores: %s (%.2fx)\n",
                   seconds / best >= 4.0 ? "met" : "NOT met", seconds / best);
        p = strchr(p, ',');
        if (!p) break;
        p++;
    }
    free(codes);
    free(pcm);
    codec_encoder_free(e);
    st_close(f);
    return rc;
}
