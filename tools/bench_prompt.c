/* bench_prompt.c — how long a voice prompt takes to make, and to load back from its file.
 *
 *   bench_prompt [--model DIR]... [--seconds S] [--runs N] [--threads N]
 *
 * For each model (default: /work/models/random-0.6B and /work/models/random-1.7B, from `voicebox dev
 * random-model`, where present) makes an ICL prompt from S seconds (default 10) of a deterministic
 * speech-like 24 kHz signal: the first call (which also prepares the speaker encoder's and the codec
 * encoder's weights) and the best of N more (default 3), split into resampling/copy, mel, speaker encoder
 * and codec encoder; then saves it and loads it back 1000 times, and prints how many times faster loading
 * the cached file is than making the prompt (target: >= 100x). Not a test: nothing fails on a slow machine.
 */
#include "engine/qt.h"
#include "engine/threadpool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A gliding harmonic voice with a syllable-rate envelope and a little noise. */
static float *test_signal(size_t n)
{
    float *x = malloc(n * sizeof *x);
    uint32_t s = 777;
    double phase = 0;
    for (size_t i = 0; x && i < n; i++) {
        double t = (double)i / QT_SAMPLE_RATE;
        phase += 2 * M_PI * (110.0 + 25.0 * sin(2 * M_PI * 0.6 * t)) / QT_SAMPLE_RATE;
        double v = 0;
        for (int h = 1; h <= 12; h++)
            v += sin(h * phase) / h;
        s = s * 1664525u + 1013904223u;
        double env = 0.5 + 0.5 * sin(2 * M_PI * 4.0 * t);
        x[i] = (float)(0.15 * env * v + 0.01 * ((double)(s >> 8) / (1 << 24) - 0.5));
    }
    return x;
}

static double total(const qt_prompt_timings *t)
{
    return t->resample_ms + t->mel_ms + t->speaker_ms + t->codec_ms;
}

static int bench(const char *dir, double seconds, int runs, int threads)
{
    qt_error err = {0};
    qt_load_params lp = qt_load_default_params();
    lp.n_threads = threads;
    double t0 = qt_now_ms();
    qt_model *m = qt_model_load(dir, &lp, &err);
    if (!m) {
        fprintf(stderr, "bench_prompt: %s\n", err.msg);
        return 1;
    }
    printf("%s: %s, width %d, loaded in %.0f ms\n", dir, qt_model_size(m), qt_model_hidden(m),
           qt_now_ms() - t0);
    size_t n = (size_t)(seconds * QT_SAMPLE_RATE);
    float *x = test_signal(n);
    qt_prompt_timings tm = {0}, best = {0};
    qt_prompt_params pp = qt_prompt_default_params();
    pp.timings = &tm;
    qt_voice_prompt *vp = NULL;
    int rc = 1;
    for (int r = 0; r <= runs; r++) {
        qt_prompt_free(vp);
        vp =
            qt_prompt_create(m, x, n, QT_SAMPLE_RATE, "A ten second reference for the benchmark.", &pp, &err);
        if (!vp) {
            fprintf(stderr, "bench_prompt: %s\n", err.msg);
            goto done;
        }
        if (r == 0)
            printf(
                "  create %.1f s reference, first call: %8.1f ms (copy %.1f, mel %.1f, speaker encoder %.1f, "
                "codec encoder %.1f; weights prepared here)\n",
                seconds, total(&tm), tm.resample_ms, tm.mel_ms, tm.speaker_ms, tm.codec_ms);
        else if (r == 1 || total(&tm) < total(&best))
            best = tm;
    }
    printf(
        "  create %.1f s reference, best of %d: %8.1f ms (copy %.1f, mel %.1f, speaker encoder %.1f, codec "
        "encoder %.1f)\n",
        seconds, runs, total(&best), best.resample_ms, best.mel_ms, best.speaker_ms, best.codec_ms);
    char path[] = "/tmp/bench_prompt.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || qt_prompt_save(vp, path, &err)) {
        fprintf(stderr, "bench_prompt: %s\n", fd < 0 ? "cannot make a temp file" : err.msg);
        if (fd >= 0) close(fd), unlink(path);
        goto done;
    }
    close(fd);
    const int loads = 1000;
    t0 = qt_now_ms();
    for (int i = 0; i < loads; i++) {
        qt_voice_prompt *lp2 = qt_prompt_load(path, qt_model_size(m), qt_model_hidden(m), &err);
        if (!lp2) {
            fprintf(stderr, "bench_prompt: %s\n", err.msg);
            unlink(path);
            goto done;
        }
        qt_prompt_free(lp2);
    }
    double load_ms = (qt_now_ms() - t0) / loads;
    unlink(path);
    double ratio = total(&best) / load_ms;
    printf("  load the cached prompt (%d frames, width %d): %.3f ms -> %.0fx faster than creating (target >= "
           "100x: %s)\n",
           vp->n_frames, vp->width, load_ms, ratio, ratio >= 100 ? "met" : "NOT met");
    rc = 0;
done:
    qt_prompt_free(vp);
    free(x);
    qt_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    const char *models[8];
    int n_models = 0, runs = 3, threads = 0;
    double seconds = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc && n_models < 8)
            models[n_models++] = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_prompt [--model DIR]... [--seconds 10] [--runs 3] [--threads N]\n");
            return 2;
        }
    }
    if (seconds < QT_PROMPT_MIN_SECONDS || seconds > QT_PROMPT_MAX_SECONDS || runs < 1) {
        fprintf(stderr, "bench_prompt: --seconds must be %d-%d and --runs at least 1\n",
                QT_PROMPT_MIN_SECONDS, QT_PROMPT_MAX_SECONDS);
        return 2;
    }
    if (!n_models) {
        const char *defaults[] = {"/work/models/random-0.6B", "/work/models/random-1.7B"};
        for (int i = 0; i < 2; i++)
            if (access(defaults[i], R_OK) == 0) models[n_models++] = defaults[i];
        if (!n_models) {
            fprintf(stderr,
                    "bench_prompt: no --model given and no /work/models/random-{0.6B,1.7B}; make one with "
                    "voicebox dev random-model --shape 0.6B --seed 1 --out /work/models/random-0.6B\n");
            return 2;
        }
    }
    printf("threads: %d\n", threads > 0 ? threads : qt_default_threads());
    int rc = 0;
    for (int i = 0; i < n_models; i++)
        rc |= bench(models[i], seconds, runs, threads);
    return rc;
}
