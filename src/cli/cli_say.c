/* cli_say.c — `voicebox say`: speak a text in a cloned voice from the command line.
 *
 * The voice comes from a reference recording (--ref, with --ref-text for ICL cloning or --xvector-only) or
 * from a prompt file made earlier (--prompt). Writes a 16-bit WAV (-o), optionally the codes (--codes, one
 * frame per line) and/or raw 16-bit little-endian 24 kHz mono PCM on stdout as it is produced (--stream).
 * A progress line goes to stderr, then the audio duration and the real-time factor.
 */
#include "audio/audio.h"
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "engine/qt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: voicebox say --model DIR|HUB_ID (--ref ref.wav [--ref-text \"...\"] [--xvector-only] |\n"
        "                    --prompt voice.prompt) --text \"...\" [-o out.wav] [options]\n"
        "  --language L     auto (default), a name (German) or a code (de)\n"
        "  --seed N         sampling seed (default 0); the same seed repeats a run\n"
        "  --greedy         argmax instead of sampling\n"
        "  --max-frames N   stop after N frames (12.5 per second; default 8192)\n"
        "  --ignore-eos     never stop on the model's end of speech, only at --max-frames (benchmarks)\n"
        "  --codes FILE     write the generated codes, one frame of 16 integers per line\n"
        "  --stream         raw 16-bit PCM (24 kHz mono, little endian) to stdout as it is produced\n"
        "  --ref-context N  give the decoder only the last N reference frames as context (ICL); default:\n"
        "                   all of them, which is exact (they are fed without decoding their audio)\n"
        "  --threads N      engine threads (default: all cores)\n"
        "  --precision P    bf16 (default: the released weights, exact) or int8 (quantized at load: faster,\n"
        "                   half the memory)\n"
        "  --weights-cache DIR  int8: keep the quantized weights in DIR between runs, so later loads map\n"
        "                   them instead of quantizing (about half the model's size on disk; default\n"
        "                   $XDG_CACHE_HOME/voicebox or ~/.cache/voicebox; none: quantize every time)\n"
        "  --quiet          no progress line\n");
}

typedef struct {
    double t0, first_audio, t_start;
    int stream, quiet, max_frames, progress_shown;
    size_t samples;
    int write_failed;
} say_state;

static void on_progress(int frames, int max_frames, void *user)
{
    say_state *s = user;
    (void)max_frames;
    if (s->quiet || !isatty(STDERR_FILENO)) /* a progress line only where someone watches it */
        return;
    fprintf(stderr, "\rvoicebox: %d frames, %.2f s of audio, %.1f s elapsed", frames, frames / 12.5,
            (qt_now_ms() / 1e3) - s->t0);
    s->progress_shown = 1;
}

static void on_audio(const float *pcm, size_t n, void *user)
{
    say_state *s = user;
    if (!s->samples) s->first_audio = (qt_now_ms() / 1e3) - s->t0;
    s->samples += n;
    if (!s->stream || s->write_failed) return;
    int16_t buf[1024];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < 1024 ? n - i : 1024;
        for (size_t j = 0; j < k; j++) {
            float v = pcm[i + j] < -1.0f ? -1.0f : pcm[i + j] > 1.0f ? 1.0f : pcm[i + j];
            buf[j] = (int16_t)lrintf(v * 32767.0f);
        }
        if (fwrite(buf, sizeof(int16_t), k, stdout) != k) s->write_failed = 1;
        i += k;
    }
    fflush(stdout);
}

static void on_warning(const char *msg, void *user)
{
    (void)user;
    fprintf(stderr, "voicebox: warning: %s\n", msg);
}

/* The voice prompt from a prompt file (checked against this model's size and width) or made from a
 * reference recording. NULL with *err on failure. */
static qt_voice_prompt *get_voice(qt_model *m, const char *prompt_path, const char *ref, const char *ref_text,
                                  int xvec_only, qt_error *err)
{
    if (prompt_path) return qt_prompt_load(prompt_path, qt_model_size(m), qt_model_hidden(m), err);
    audio_buf wav = {0};
    audio_error aerr;
    if (audio_decode_file(ref, 0, &wav, &aerr)) {
        qt_fail(err, QT_ERR_INVALID, "%s", aerr.msg);
        return NULL;
    }
    qt_prompt_params pp = qt_prompt_default_params();
    pp.on_warning = on_warning;
    qt_voice_prompt *vp =
        qt_prompt_create(m, wav.samples, wav.n, wav.sample_rate, xvec_only ? NULL : ref_text, &pp, err);
    audio_buf_free(&wav);
    return vp;
}

static int write_codes(const char *path, const int32_t *codes, int n_frames)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int t = 0; t < n_frames; t++)
        for (int k = 0; k < QT_CODEBOOKS; k++)
            fprintf(f, "%d%c", codes[t * QT_CODEBOOKS + k], k + 1 < QT_CODEBOOKS ? ' ' : '\n');
    return fclose(f) ? -1 : 0;
}

int cli_say(int argc, char **argv)
{
    double t_start = (qt_now_ms() / 1e3);
    const char *model = NULL, *ref = NULL, *ref_text = NULL, *prompt = NULL, *text = NULL, *out_path = NULL;
    const char *codes_path = NULL, *language = "auto", *weights_cache = NULL;
    int xvec_only = 0, greedy = 0, stream = 0, quiet = 0, ignore_eos = 0, threads = 0, max_frames = 8192,
        ref_context = -1;
    qt_precision precision = QT_PRECISION_BF16;
    unsigned long long seed = 0;
    const cli_opt opts[] = {
        CLI_FLAG_OPT("--xvector-only", &xvec_only),
        CLI_FLAG_OPT("--greedy", &greedy),
        CLI_FLAG_OPT("--ignore-eos", &ignore_eos),
        CLI_FLAG_OPT("--stream", &stream),
        CLI_FLAG_OPT("--quiet", &quiet),
        CLI_STR_OPT("--model", NULL, &model),
        CLI_STR_OPT("--ref", NULL, &ref),
        CLI_STR_OPT("--ref-text", NULL, &ref_text),
        CLI_STR_OPT("--prompt", NULL, &prompt),
        CLI_STR_OPT("--text", NULL, &text),
        CLI_STR_OPT("--output", "-o", &out_path),
        CLI_STR_OPT("--codes", NULL, &codes_path),
        CLI_STR_OPT("--language", NULL, &language),
        CLI_U64_OPT("--seed", &seed, "--seed wants a non-negative integer, not '%s'"),
        CLI_INT_OPT("--max-frames", &max_frames, 1, 100000,
                    "--max-frames wants an integer from 1 to 100000, not '%s'"),
        CLI_INT_OPT("--ref-context", &ref_context, 0, 100000,
                    "--ref-context wants a number of frames from 0 up, not '%s'"),
        CLI_INT_OPT("--threads", &threads, 0, 256, "--threads wants an integer from 0 to 256, not '%s'"),
        CLI_FN_OPT("--precision", &precision, cli_precision_opt),
        CLI_STR_OPT("--weights-cache", NULL, &weights_cache),
    };
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("say", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (r == CLI_HELP) {
        usage(stdout);
        return 0;
    }
    if (r) return r;
    if (n_pos) {
        cli_error("say: unexpected argument '%s' (see voicebox say --help)", pos[0]);
        return 2;
    }
    if (!model) return cli_error("say needs --model DIR or a Hub repo id");
    if (!!ref + !!prompt != 1)
        return cli_error("say needs exactly one of --ref ref.wav or --prompt voice.prompt");
    if (prompt && (ref_text || xvec_only))
        return cli_error("--ref-text and --xvector-only go with --ref, not --prompt");
    if (ref && !ref_text && !xvec_only)
        return cli_error("--ref needs --ref-text \"what the reference says\" (or --xvector-only)");
    if (!text) return cli_error("say needs --text \"...\"");
    if (!out_path && !stream && !codes_path)
        return cli_error("say needs -o out.wav (or --stream, or --codes FILE)");

    qt_error err = {0};
    qt_load_params lp = qt_load_default_params();
    lp.n_threads = threads;
    lp.precision = precision;
    char cache_buf[4096];
    lp.cache_dir = cli_weights_cache(weights_cache, cache_buf, sizeof cache_buf);
    qt_model *m = qt_model_load(model, &lp, &err);
    if (!m) return cli_error("%s", err.msg);
    const char *wc = qt_model_weights_cache(m);
    if (wc && !quiet && !strcmp(wc, "written")) /* a file of ~half the model's size appeared */
        fprintf(stderr,
                "voicebox: int8 weights cached in %s (later loads map them; --weights-cache none to skip)\n",
                lp.cache_dir);
    else if (wc && !quiet && strcmp(wc, "hit"))
        fprintf(stderr,
                "voicebox: int8 weights could not be cached in %s (it must be a folder you can write)\n",
                lp.cache_dir);
    char lang[64];
    if (qt_language_normalize(m, language, lang, sizeof lang, &err)) {
        qt_model_free(m);
        return cli_error("%s", err.msg);
    }
    qt_voice_prompt *vp = get_voice(m, prompt, ref, ref_text, xvec_only, &err);
    if (!vp) {
        qt_model_free(m);
        return cli_error("%s", err.msg);
    }

    say_state st = {(qt_now_ms() / 1e3), 0, t_start, stream, quiet, max_frames, 0, 0, 0};
    qt_gen_params p = qt_gen_default_params();
    qt_gen_output out = {0};
    p.language = lang;
    p.seed = seed;
    p.greedy = greedy;
    p.ignore_eos = ignore_eos;
    p.max_frames = max_frames;
    p.ref_context = ref_context;
    p.on_progress = on_progress;
    p.on_audio = on_audio;
    p.user = &st;
    p.out = &out;
    int rc = qt_generate(m, vp, text, &p, &err);
    double elapsed = (qt_now_ms() / 1e3) - st.t0;
    if (st.progress_shown) fputc('\n', stderr);
    qt_prompt_free(vp);
    qt_model_free(m);
    if (rc) {
        qt_gen_output_free(&out);
        return cli_error("%s", err.msg);
    }
    int status = 0;
    if (st.write_failed) status = cli_error("writing the audio stream to stdout failed");
    if (out_path) {
        audio_error aerr;
        if (audio_write_wav16(out_path, out.audio, out.n_samples, QT_SAMPLE_RATE, &aerr))
            status = cli_error("%s", aerr.msg);
    }
    if (codes_path && write_codes(codes_path, out.codes, out.n_frames))
        status = cli_error("%s: could not write the codes", codes_path);
    double seconds = (double)out.n_samples / QT_SAMPLE_RATE;
    if (!quiet) {
        fprintf(stderr, "voicebox: %.2f s of audio (%d frames, %s) in %.2f s, real-time factor %.2f", seconds,
                out.n_frames, out.hit_eos ? "ended by the model" : "stopped at --max-frames", elapsed,
                seconds > 0 ? elapsed / seconds : 0.0);
        if (stream)
            fprintf(stderr, ", first audio %.2f s into the generation (%.2f s after the command started)",
                    st.first_audio, st.first_audio + st.t0 - st.t_start);
        fprintf(stderr, "%s%s\n", out_path ? ", wrote " : "", out_path ? out_path : "");
    }
    qt_gen_output_free(&out);
    return status;
}
