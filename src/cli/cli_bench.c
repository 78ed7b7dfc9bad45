/* cli_bench.c — `voicebox bench`: speed of the generation engine on a model (the real-shape random models
 * from `voicebox dev random-model` in CI): prefill, talker, code predictor and decoder time per frame,
 * real-time factor, first-audio latency, weight bytes read per frame against the machine's measured read
 * bandwidth, and peak RSS. EOS is ignored so every run makes exactly --frames frames. */
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "engine/qt.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static const char bench_text[] =
    "The lighthouse keeper climbed the spiral stairs every evening, counting each step aloud, and when the "
    "lamp "
    "finally caught he would sit by the window and write a short letter to his sister about the ships he had "
    "seen, the colour of the sea, and the birds that rested on the railing before the long flight south.";
static const char bench_ref_text[] =
    "Please call Stella and ask her to bring these things with her from the store.";

static double file_mb(const char *dir, const char *name)
{
    char path[4400];
    struct stat st;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return 0;
    return stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
}

static void on_audio(const float *pcm, size_t n, void *user)
{
    (void)pcm;
    *(size_t *)user += n;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: voicebox bench --model DIR|HUB_ID [--frames 125] [--threads N] [--xvector-only]\n"
            "                      [--ref-frames 63] [--ref-context N] [--seed N] [--precision bf16|int8]\n"
            "                      [--weights-cache DIR|none]   (int8; as for voicebox say)\n");
}

int cli_bench(int argc, char **argv)
{
    const char *model = NULL, *weights_cache = NULL;
    int frames = 125, threads = 0, xvec_only = 0, ref_frames = 63, ref_context = -1;
    unsigned long long seed = 1;
    qt_precision precision = QT_PRECISION_BF16;
#define RANGES "--frames must be 1..8192, --ref-frames 1..2000 and --threads >= 0 (not '%s')"
    const cli_opt opts[] = {
        CLI_FLAG_OPT("--xvector-only", &xvec_only),
        CLI_STR_OPT("--model", NULL, &model),
        CLI_INT_OPT("--frames", &frames, INT_MIN, INT_MAX, RANGES),
        CLI_INT_OPT("--threads", &threads, INT_MIN, INT_MAX, RANGES),
        CLI_INT_OPT("--ref-frames", &ref_frames, INT_MIN, INT_MAX, RANGES),
        CLI_INT_OPT("--ref-context", &ref_context, INT_MIN, INT_MAX,
                    "--ref-context wants a number of frames, not '%s'"),
        CLI_U64_OPT("--seed", &seed, "--seed wants a non-negative integer, not '%s'"),
        CLI_FN_OPT("--precision", &precision, cli_precision_opt),
        CLI_STR_OPT("--weights-cache", NULL, &weights_cache),
    };
#undef RANGES
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int parsed = cli_parse("bench", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (parsed == CLI_HELP) {
        usage(stdout);
        return 0;
    }
    if (parsed) return parsed;
    if (n_pos) {
        cli_error("bench: unexpected argument '%s' (see voicebox bench --help)", pos[0]);
        return 2;
    }
    if (!model) {
        usage(stderr);
        return cli_error("bench needs --model");
    }
    if (frames < 1 || frames > 8192 || ref_frames < 1 || ref_frames > 2000 || threads < 0)
        return cli_error("--frames must be 1..8192, --ref-frames 1..2000 and --threads >= 0");

    qt_error err = {0};
    qt_load_params lp = qt_load_default_params();
    lp.n_threads = threads;
    lp.precision = precision;
    char cache_buf[4096];
    lp.cache_dir = cli_weights_cache(weights_cache, cache_buf, sizeof cache_buf);
    double t0 = (qt_now_ms() / 1e3);
    qt_model *m = qt_model_load(model, &lp, &err);
    if (!m) return cli_error("%s", err.msg);
    double load_s = (qt_now_ms() / 1e3) - t0;
    int H = qt_model_hidden(m);
    char tn[32];
    snprintf(tn, sizeof tn, "%d", qt_model_threads(m));
    printf("model: %s (%s, hidden %d), kernels %s, BLAS %s, threads %s, loaded in %.0f ms\n", qt_model_dir(m),
           qt_model_size(m), H, qt_kernels_name(), qt_blas_kernels(), tn, load_s * 1e3);
    printf("precision: %s", qt_precision_name(precision));
    if (precision == QT_PRECISION_INT8) {
        const char *k8 = qt_int8_kernels_name();
        printf(", int8 kernels %s%s", k8,
               !strcmp(k8, "avx512-vnni") ? ""
               : !strcmp(k8, "avx2")
                   ? " (this CPU has no AVX-512 VNNI: the AVX2 fallback)"
                   : " (this CPU has neither AVX-512 VNNI nor AVX2: the plain C fallback, slow)");
        const char *wc = qt_model_weights_cache(m);
        printf(", weights %s", !wc                      ? "quantized at load (no cache)"
                               : !strcmp(wc, "hit")     ? "from the cache"
                               : !strcmp(wc, "written") ? "quantized at load, cache written"
                                                        : "quantized at load, cache not written");
    }
    printf("\n");

    /* a synthetic voice prompt of the model's width: random x-vector (RMS 1) and reference codes */
    qt_voice_prompt vp = {0};
    vp.mode = xvec_only ? QT_PROMPT_XVECTOR : QT_PROMPT_ICL;
    snprintf(vp.size, sizeof vp.size, "%s", qt_model_size(m));
    vp.width = H;
    vp.xvector = malloc(sizeof(float) * H);
    vp.codes = xvec_only ? NULL : malloc(sizeof(int32_t) * QT_CODEBOOKS * ref_frames);
    if (!vp.xvector || (!xvec_only && !vp.codes)) {
        qt_model_free(m);
        return cli_error("out of memory");
    }
    unsigned long long r = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (int i = 0; i < H; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        vp.xvector[i] = (float)(((r >> 11) & 0xffff) / 65536.0 * 2 - 1) * 1.732f;
    }
    if (!xvec_only) {
        vp.n_frames = ref_frames;
        for (int i = 0; i < QT_CODEBOOKS * ref_frames; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            vp.codes[i] = (int32_t)((r >> 33) % QT_CODEBOOK_SIZE);
        }
        vp.ref_text = (char *)bench_ref_text;
    }
    printf("prompt: %s, text %zu bytes\n", xvec_only ? "x-vector only" : "ICL", strlen(bench_text));
    if (!xvec_only) printf("        %d reference frames (%.2f s)\n", ref_frames, ref_frames / 12.5);

    qt_gen_params p = qt_gen_default_params();
    qt_gen_output out = {0};
    size_t streamed = 0;
    p.seed = seed;
    p.max_frames = frames;
    p.ignore_eos = 1;
    p.ref_context = ref_context;
    p.out = &out;
    p.on_audio = on_audio; /* the streaming path: audio of every frame as soon as it is final */
    p.user = &streamed;
    /* warm-up: the first pass over the mapped weights pays their page faults (and disk reads when the file
     * is not in the page cache); the figures below are for the steady state */
    qt_gen_params wp = p;
    wp.max_frames = 1;
    wp.out = NULL;
    wp.on_audio = NULL;
    double w0 = (qt_now_ms() / 1e3);
    if (qt_generate(m, &vp, "Warm up.", &wp, &err)) {
        free(vp.xvector);
        free(vp.codes);
        qt_model_free(m);
        return cli_error("%s", err.msg);
    }
    printf("warm-up:          %8.1f ms (one frame; first touch of the weights)\n",
           ((qt_now_ms() / 1e3) - w0) * 1e3);
    struct rusage ru0, ru;
    getrusage(RUSAGE_SELF, &ru0);
    double g0 = (qt_now_ms() / 1e3);
    int rc = qt_generate(m, &vp, bench_text, &p, &err);
    double total = (qt_now_ms() / 1e3) - g0;
    getrusage(RUSAGE_SELF, &ru);
    double cpu =
        (ru.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
        ((ru.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) / 1e6;
    double rss_mb = (double)ru.ru_maxrss / 1024.0;
    free(vp.xvector);
    free(vp.codes);
    if (rc) {
        qt_model_free(m);
        return cli_error("%s", err.msg);
    }
    int F = out.n_frames;
    double audio_s = (double)F / 12.5;
    size_t tb = 0, cb = 0;
    qt_model_bytes_per_frame(m, &tb, &cb);
    double lm_ms = (out.talker_ms + out.cp_ms) / F;
    printf("prefill:          %8.1f ms\n", out.prefill_ms);
    if (!xvec_only)
        printf(
            "reference decode: %8.1f ms (%s reference frames as decoder context, before the first audio)\n",
            out.ref_decode_ms,
            ref_context >= 0 && ref_context < ref_frames ? "the last --ref-context" : "all");
    printf("frames:           %8d (%.2f s of audio, %zu samples streamed)\n", F, audio_s, streamed);
    printf("talker:           %8.2f ms/frame\n", out.talker_ms / F);
    printf("code predictor:   %8.2f ms/frame\n", out.cp_ms / F);
    printf("decoder:          %8.2f ms/frame\n", out.decoder_ms / F);
    printf("first audio:      %8.1f ms\n", out.first_audio_ms);
    printf("total:            %8.2f s, RTF %.3f (compute / audio time)\n", total, total / audio_s);
    int nthreads = qt_model_threads(m);
    printf("cpu use:          %8.2f cores on average over the run (%.1f s CPU, %d engine thread(s)); "
           "on a busy machine every time here is inflated\n",
           cpu / total, cpu, nthreads);
    printf("weights per frame: talker %.1f MB + code predictor %.1f MB = %.1f MB\n", tb / 1e6, cb / 1e6,
           (tb + cb) / 1e6);
    double achieved = (double)(tb + cb) / (lm_ms / 1e3);
    printf("achieved:         %8.2f GB/s (talker + code predictor)\n", achieved / 1e9);
    char dir[4096];
    snprintf(dir, sizeof dir, "%.4000s", qt_model_dir(m));
    /* the decoder's one-pass cost on the same frames (no streaming, no reference context), in the arithmetic
     * the loop's decoder used (bf16 products with int8 where the CPU has AMX): what the loop's batched
     * pushes are measured against */
    qt_codec *codec = qt_codec_load(dir, nthreads, &err);
    if (codec && precision == QT_PRECISION_INT8 && qt_codec_set_bf16(codec, 1, &err)) {
        qt_codec_free(codec);
        codec = NULL;
    }
    float *pcm = codec ? malloc(sizeof(float) * (size_t)F * QT_SAMPLES_PER_FRAME) : NULL;
    if (pcm) {
        double d0 = qt_now_ms();
        if (qt_codec_decode(codec, out.codes, F, pcm, &err) == 0) {
            double one_ms = (qt_now_ms() - d0) / F;
            printf("decoder one pass: %8.2f ms/frame, %s (in the loop %.2fx that)\n", one_ms,
                   qt_codec_bf16(codec) ? "bf16 products" : "float32", out.decoder_ms / F / one_ms);
        }
    }
    free(pcm);
    qt_codec_free(codec);
    double weights_mb =
        file_mb(dir, "model.safetensors") + file_mb(dir, "speech_tokenizer/model.safetensors");
    qt_gen_output_free(&out);
    qt_model_free(m);
    double bw = qt_read_bandwidth(threads, (size_t)1 << 30);
    if (bw > 0) {
        double ideal_ms = (double)(tb + cb) / bw * 1e3;
        printf("machine read bandwidth: %.2f GB/s (1 GiB, threads %s)\n", bw / 1e9, tn);
        printf("ratio:            %8.2f (talker + code predictor time / time to read their weights at that "
               "rate)\n",
               lm_ms / ideal_ms);
    }
    printf("peak RSS:         %8.0f MB (model files %.0f MB, + %.0f MB)\n", rss_mb, weights_mb,
           rss_mb - weights_mb);
    return 0;
}
