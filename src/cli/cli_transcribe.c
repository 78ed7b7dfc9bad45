/* cli_transcribe.c — `voicebox transcribe --model DIR|HUB_ID audio [--language en] [--json]`: the words of a
 * recording (any format the audio layer decodes, resampled to 16 kHz) by the Whisper engine (wh.h).
 * Plain output is the text on one line; --json adds the language, its probabilities (when detected), the
 * token ids and the time of each stage. */
#include "audio/audio.h"
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "engine/qt.h"
#include "whisper/wh.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(FILE *out)
{
    fprintf(
        out,
        "usage: voicebox transcribe --model DIR|REPO AUDIO [--language CODE|auto] [--json] [--threads N]\n"
        "  AUDIO: wav, flac, mp3, ogg (any rate, mono or not); the words it says, on one line.\n"
        "  --model: a Whisper release directory (openai/whisper-*) or a Hub repo id in the HF cache.\n"
        "  --language: a code such as en, de (default: detected from the first 30 s).\n"
        "  --json: text, language, language_probs, tokens, timings.\n");
    return out == stdout ? 0 : 2;
}

static void print_json(const wh_model *m, const wh_result *r, double load_s, double decode_audio_s)
{
    json_t *probs = json_object(), *tokens = json_array();
    for (int i = 0; r->language_probs && i < r->n_languages; i++)
        json_object_set_new(probs, wh_language_code(m, i), json_real(r->language_probs[i]));
    for (size_t i = 0; i < r->n_tokens; i++)
        json_array_append_new(tokens, json_integer(r->tokens[i]));
    json_t *o =
        json_pack("{s:s, s:s, s:o, s:o, s:f, s:i, s:{s:f, s:f, s:f, s:f, s:f}}", "text", r->text, "language",
                  r->language, "language_probs", r->language_probs ? probs : json_null(), "tokens", tokens,
                  "duration", r->duration_s, "windows", r->n_windows, "timings", "load_s", load_s, "audio_s",
                  decode_audio_s, "mel_s", r->mel_s, "encode_s", r->encode_s, "decode_s", r->decode_s);
    if (!r->language_probs) json_decref(probs);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    if (s) printf("%s\n", s);
    free(s);
    json_decref(o);
}

int cli_transcribe(int argc, char **argv)
{
    const char *model = NULL, *audio = NULL, *language = NULL;
    int as_json = 0, threads = 0;
    const cli_opt opts[] = {
        CLI_STR_OPT("--model", NULL, &model),
        CLI_STR_OPT("--language", NULL, &language),
        CLI_INT_OPT("--threads", &threads, 1, 256, "--threads wants a number from 1 to 256, not '%s'"),
        CLI_FLAG_OPT("--json", &as_json),
    };
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int parsed = cli_parse("transcribe", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (parsed == CLI_HELP) return usage(stdout);
    if (parsed) return parsed;
    if (n_pos > 1) return cli_error("one audio file at a time ('%s' and '%s')", pos[0], pos[1]);
    if (n_pos) audio = pos[0];
    if (!model || !audio) return usage(stderr);
    wh_load_params lp = wh_load_default_params();
    if (threads) lp.n_threads = threads;

    double t0 = (qt_now_ms() / 1e3);
    audio_buf a = {0};
    audio_error aerr = {0};
    if (audio_decode_file(audio, WH_SAMPLE_RATE, &a, &aerr)) return cli_error("%s", aerr.msg);
    double t1 = (qt_now_ms() / 1e3);
    wh_error err = {0};
    wh_model *m = wh_model_load(model, &lp, &err);
    if (!m) {
        audio_buf_free(&a);
        return cli_error("%s", err.msg);
    }
    double t2 = (qt_now_ms() / 1e3);
    wh_params p = wh_default_params();
    p.language = language;
    wh_result r;
    int rc = wh_transcribe(m, a.samples, a.n, &p, &r, &err);
    audio_buf_free(&a);
    if (rc) {
        wh_model_free(m);
        return cli_error("%s", err.msg);
    }
    if (as_json)
        print_json(m, &r, t2 - t1, t1 - t0);
    else
        printf("%s\n", r.text);
    wh_result_free(&r);
    wh_model_free(m);
    return 0;
}
