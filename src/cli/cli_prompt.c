/* cli_prompt.c — `voicebox prompt ...`: make a voice prompt file from a reference recording, and show one.
 * `prompt create` decodes the reference with audio.h (any format, channels mixed down, native rate: the
 * engine resamples) and writes the file qt_prompt_save makes; `prompt show` prints what a file holds, as
 * text or one JSON object. No model math here: everything comes from qt_prompt_* in qt.h. */
#include "audio/audio.h"
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "engine/qt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *out)
{
    fprintf(out, "usage: voicebox prompt create --model DIR --ref REF.wav (--ref-text \"what it says\" | "
                 "--xvector-only)\n"
                 "                              -o VOICE.prompt [--trim-silence] [--threads N]\n"
                 "       voicebox prompt show [--json] VOICE.prompt\n"
                 "The reference must last 2-30 s; any rate or channel count libsndfile reads. Its trailing "
                 "silence is\n"
                 "kept unless --trim-silence (the pause helps ICL cloning end the reference cleanly).\n");
    return out == stdout ? 0 : 2;
}

static void on_warning(const char *msg, void *user)
{
    (void)user;
    fprintf(stderr, "voicebox: warning: %s\n", msg);
}

static int prompt_create(int argc, char **argv)
{
    const char *model = NULL, *ref = NULL, *ref_text = NULL, *out = NULL;
    int xvec_only = 0, trim = 0, threads = 0;
    const cli_opt opts[] = {
        CLI_FLAG_OPT("--xvector-only", &xvec_only),
        CLI_FLAG_OPT("--trim-silence", &trim),
        CLI_STR_OPT("--model", NULL, &model),
        CLI_STR_OPT("--ref", NULL, &ref),
        CLI_STR_OPT("--ref-text", NULL, &ref_text),
        CLI_STR_OPT("-o", NULL, &out),
        CLI_INT_OPT("--threads", &threads, 0, 1024,
                    "prompt create: --threads needs a number from 0 (all cores) to 1024, not '%s'"),
    };
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("prompt create", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (r == CLI_HELP) return usage(stdout);
    if (r) return r;
    if (n_pos) {
        cli_error("prompt create: unexpected argument '%s' (see voicebox prompt --help)", pos[0]);
        return 2;
    }
    if (!model) return cli_error("prompt create: --model DIR is required");
    if (!ref) return cli_error("prompt create: --ref REF.wav is required");
    if (!out) return cli_error("prompt create: -o VOICE.prompt is required");
    if (xvec_only && ref_text)
        return cli_error("prompt create: --ref-text and --xvector-only exclude each other");
    if (!xvec_only && !ref_text)
        return cli_error(
            "prompt create: --ref-text \"what the reference says\" is required (or --xvector-only)");

    audio_buf audio = {0};
    audio_error aerr = {{0}, 0, 0};
    if (audio_decode_file(ref, 0, &audio, &aerr)) return cli_error("%s", aerr.msg);
    qt_error err = {0};
    qt_load_params lp = qt_load_default_params();
    lp.n_threads = threads;
    lp.no_codec = xvec_only;
    qt_model *m = qt_model_load(model, &lp, &err);
    qt_voice_prompt *vp = NULL;
    qt_prompt_params pp = qt_prompt_default_params();
    pp.trim_trailing_silence = trim;
    pp.on_warning = on_warning;
    int rc = 1;
    if (m && !(vp = qt_prompt_create(m, audio.samples, audio.n, audio.sample_rate, ref_text, &pp, &err))) {
        qt_model_free(m);
        audio_buf_free(&audio);
        return cli_error("%s: %s", ref, err.msg);
    }
    if (!m || qt_prompt_save(vp, out, &err)) /* these messages name the model or the file */
        cli_error("%s", err.msg);
    else
        rc = 0;
    if (rc == 0)
        fprintf(stderr, "%s: %s model, width %d, %s, %d frames\n", out, vp->size, vp->width,
                vp->mode == QT_PROMPT_ICL ? "icl" : "x-vector only", vp->n_frames);
    qt_prompt_free(vp);
    qt_model_free(m);
    audio_buf_free(&audio);
    return rc;
}

static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p == '\r')
            fputs("\\r", stdout);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static int prompt_show(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    const cli_opt opts[] = {CLI_FLAG_OPT("--json", &json)};
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("prompt show", argc, argv, opts, 1, pos, &n_pos);
    if (r == CLI_HELP) return usage(stdout);
    if (r) return r;
    if (n_pos > 1) return cli_error("prompt show: one file at a time ('%s' and '%s')", pos[0], pos[1]);
    if (n_pos) path = pos[0];
    if (!path) return cli_error("prompt show: no prompt file given");
    qt_error err = {0};
    qt_voice_prompt *vp = qt_prompt_load(path, NULL, 0, &err);
    if (!vp) return cli_error("%s", err.msg);
    const char *mode = vp->mode == QT_PROMPT_ICL ? "icl" : "xvector";
    if (json) {
        printf("{\"model_size\":");
        json_string(vp->size);
        printf(",\"width\":%d,\"mode\":\"%s\",\"ref_text\":", vp->width, mode);
        if (vp->ref_text)
            json_string(vp->ref_text);
        else
            fputs("null", stdout);
        printf(",\"codes\":[");
        for (int f = 0; f < vp->n_frames; f++) {
            printf("%s[", f ? "," : "");
            for (int k = 0; k < QT_CODEBOOKS; k++)
                printf("%s%d", k ? "," : "", vp->codes[(size_t)f * QT_CODEBOOKS + k]);
            putchar(']');
        }
        printf("],\"xvector\":[");
        for (int i = 0; i < vp->width; i++)
            printf("%s%.9g", i ? "," : "", vp->xvector[i]);
        printf("]}\n");
    } else {
        printf("model size  %s\nwidth       %d\nmode        %s\nframes      %d (%.2f s)\n", vp->size,
               vp->width, mode, vp->n_frames, vp->n_frames * (double)QT_SAMPLES_PER_FRAME / QT_SAMPLE_RATE);
        printf("text        %s\n", vp->ref_text ? vp->ref_text : "(none: x-vector only)");
    }
    qt_prompt_free(vp);
    if (fflush(stdout) || ferror(stdout)) return cli_error("prompt show: writing the output failed");
    return 0;
}

int cli_prompt(int argc, char **argv)
{
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
        return usage(stdout);
    if (!strcmp(argv[1], "create")) return prompt_create(argc - 1, argv + 1);
    if (!strcmp(argv[1], "show")) return prompt_show(argc - 1, argv + 1);
    return cli_error("prompt: unknown command '%s' (create or show)", argv[1]);
}
