/* bench_whisper.c — Whisper transcription speed and memory: a clip (default 10 s: tests/data/whisper/jfk.wav,
 * real speech, repeated) through a model (default: a real-shape random whisper-base made by
 * `voicebox dev random-model --shape whisper-base`), after the model is loaded.
 *
 * Prints the time of each stage, the encoder's GFLOP/s and its share of the cores' FMA peak (threads x clock
 * x FMA lanes: 32 flop/cycle with AVX2, 64 with AVX-512; the clock is /proc/cpuinfo's), the decoder's time
 * per token, and the peak RSS beside the weights' size. A random model never says EOT, so the tokens per
 * window are capped (--tokens, default 32: about what 10 s of speech gives) to time what real speech costs.
 * On a shared machine the wall time depends on the others' load: the CPU time of the run is printed too.
 *
 * usage: bench_whisper [--model DIR] [--seconds 10] [--tokens 32] [--threads N] [--runs 3]
 */
#include "audio/audio.h"
#include "engine/qt_common.h"
#include "whisper/wh_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static double cpu_ghz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7) && sscanf(strchr(line, ':') + 1, "%lf", &mhz) == 1) break;
    if (f) fclose(f);
    return mhz / 1000.0;
}

int main(int argc, char **argv)
{
    const char *model = "/work/models/random-whisper-base";
    double seconds = 10;
    int tokens = 32, threads = 0, runs = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model"))
            model = argv[i + 1];
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--tokens"))
            tokens = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
        else {
            fprintf(
                stderr,
                "usage: bench_whisper [--model DIR] [--seconds 10] [--tokens 32] [--threads N] [--runs 3]\n");
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 600 || tokens < 1 || runs < 1) {
        fprintf(stderr, "bench_whisper: --seconds 0..600, --tokens and --runs at least 1\n");
        return 2;
    }
    char wav[4200];
    snprintf(wav, sizeof wav, "%s", __FILE__);
    char *slash = strrchr(wav, '/');
    snprintf(slash ? slash + 1 : wav, sizeof wav - (size_t)(slash ? slash + 1 - wav : 0),
             "../tests/data/whisper/jfk.wav");
    audio_buf a = {0};
    audio_error aerr = {0};
    if (audio_decode_file(wav, WH_SAMPLE_RATE, &a, &aerr)) {
        fprintf(stderr, "bench_whisper: %s\n", aerr.msg);
        return 1;
    }
    size_t n = (size_t)(seconds * WH_SAMPLE_RATE);
    float *pcm = malloc(n * sizeof *pcm);
    for (size_t i = 0; pcm && i < n; i++)
        pcm[i] = a.samples[i % a.n];
    audio_buf_free(&a);

    wh_error err = {0};
    wh_load_params lp = wh_load_default_params();
    lp.n_threads = threads;
    double t0 = (qt_now_ms() / 1e3);
    wh_model *m = wh_model_load(model, &lp, &err);
    if (!m || !pcm) {
        fprintf(stderr,
                "bench_whisper: %s (make one with: voicebox dev random-model --shape whisper-base --seed 1 "
                "--out %s)\n",
                err.msg, model);
        return 1;
    }
    double load_s = (qt_now_ms() / 1e3) - t0;
    wh_model_info info;
    wh_model_get_info(m, &info);
    int nt = qt_pool_threads(m->pool);
    printf("model %s: d %d, %d+%d layers, %d mel bins, vocab %d, weights %.1f MB (f32), loaded in %.2f s\n",
           model, info.d_model, info.n_audio_layers, info.n_text_layers, info.n_mels, info.n_vocab,
           info.weight_bytes / 1e6, load_s);

    wh_params p = wh_default_params();
    p.language = "en";
    p.max_tokens = tokens;
    double best = 1e30, best_enc = 1e30, best_mel = 0, best_dec = 0, best_cpu = 0;
    size_t n_tok = 0;
    for (int r = 0; r < runs; r++) {
        wh_result res;
        double s = (qt_now_ms() / 1e3), c = cpu_seconds();
        if (wh_transcribe(m, pcm, n, &p, &res, &err)) {
            fprintf(stderr, "bench_whisper: %s\n", err.msg);
            return 1;
        }
        double total = (qt_now_ms() / 1e3) - s, cpu = cpu_seconds() - c;
        if (total < best)
            best = total, best_mel = res.mel_s, best_dec = res.decode_s, n_tok = res.n_tokens, best_cpu = cpu;
        if (res.encode_s < best_enc) best_enc = res.encode_s;
        wh_result_free(&res);
    }
    const char *isa = qt_kernels_get()->name;
    double lanes = !strcmp(isa, "avx512") ? 64 : !strcmp(isa, "avx2") ? 32 : 8, ghz = cpu_ghz();
    double gflops = info.encoder_flops / best_enc / 1e9, peak = nt * ghz * lanes;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%.1f s clip, %d threads, best of %d: %.3f s after load (log-mel %.3f s, encoder %.3f s, decoder "
           "%.3f s "
           "for %zu tokens = %.1f ms/token incl. the cross-attention K/V)\n",
           seconds, nt, runs, best, best_mel, best_enc, best_dec, n_tok,
           n_tok ? best_dec * 1e3 / (double)n_tok : 0);
    /* the machine may be shared: CPU time over wall time says how many cores the run really had */
    printf(
        "CPU time of that run %.3f s (%.2f cores busy on average; below %d means other work took the rest)\n",
        best_cpu, best_cpu / best, nt);
    printf(
        "encoder: %.1f GFLOP in %.3f s = %.1f GFLOP/s, %.0f%% of the FMA peak (%d threads x %.2f GHz x %.0f "
        "flop/cycle, %s)\n",
        info.encoder_flops / 1e9, best_enc, gflops, peak > 0 ? 100 * gflops / peak : 0, nt, ghz, lanes, isa);
    printf("peak RSS %.1f MB (weights %.1f MB, + %.1f MB)\n", ru.ru_maxrss / 1024.0, info.weight_bytes / 1e6,
           ru.ru_maxrss / 1024.0 - info.weight_bytes / 1e6);
    free(pcm);
    wh_model_free(m);
    return 0;
}
