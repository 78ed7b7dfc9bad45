/* cli_codec.c — `voicebox codec ...`: the 12 Hz speech tokenizer on its own, for checking it against other
 * tools. `codec encode --model DIR in.wav` prints the audio's codes, one 80 ms frame per line (16 integers).
 * Nothing here does model math: audio is read with audio.h, codes come from qt_codec_* in qt.h. */
#include "audio/audio.h"
#include "cli/cli.h"
#include "engine/qt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *out)
{
    fprintf(out,
            "usage: voicebox codec encode --model DIR [--threads N] IN.wav   print 16 codes per 80 ms frame\n"
            "DIR is a model directory (its speech_tokenizer/ is used), a Hub repo id in the Hugging Face\n"
            "cache, or a speech_tokenizer directory. Any rate libsndfile reads is resampled to 24 kHz.\n");
    return out == stdout ? 0 : 2;
}

static int parse_threads(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > 1024) return -1;
    *out = (int)v;
    return 0;
}

static int codec_encode(int argc, char **argv)
{
    const char *model = NULL, *in = NULL;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout);
        if (!strcmp(argv[i], "--model")) {
            if (++i >= argc) return cli_error("codec encode: --model needs a directory or repo id");
            model = argv[i];
        } else if (!strcmp(argv[i], "--threads")) {
            if (++i >= argc || parse_threads(argv[i], &threads))
                return cli_error("codec encode: --threads needs a number from 0 (all cores) to 1024");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_error("codec encode: unknown option '%s'", argv[i]);
        } else if (in) {
            return cli_error("codec encode: one audio file at a time ('%s' and '%s')", in, argv[i]);
        } else {
            in = argv[i];
        }
    }
    if (!model) return cli_error("codec encode: --model DIR is required");
    if (!in) return cli_error("codec encode: no audio file given");

    audio_buf audio = {0};
    audio_error aerr = {{0}};
    if (audio_decode_file(in, 0, &audio, &aerr)) return cli_error("%s", aerr.msg);
    if (audio.n == 0) {
        audio_buf_free(&audio);
        return cli_error("%s: the file holds no audio (0 samples)", in);
    }
    qt_error err = {0};
    qt_codec *codec = qt_codec_load(model, threads, &err);
    int32_t *codes = NULL;
    int frames = 0;
    if (!codec || qt_codec_encode(codec, audio.samples, audio.n, audio.sample_rate, &codes, &frames, &err)) {
        qt_codec_free(codec);
        audio_buf_free(&audio);
        return cli_error("%s", err.msg);
    }
    for (int f = 0; f < frames; f++)
        for (int k = 0; k < QT_CODEBOOKS; k++)
            printf("%d%c", codes[(size_t)f * QT_CODEBOOKS + k], k + 1 < QT_CODEBOOKS ? ' ' : '\n');
    free(codes);
    qt_codec_free(codec);
    audio_buf_free(&audio);
    if (fflush(stdout) || ferror(stdout)) return cli_error("codec encode: writing the codes failed");
    return 0;
}

int cli_codec(int argc, char **argv)
{
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(stdout);
    if (!strcmp(argv[1], "encode")) return codec_encode(argc - 1, argv + 1);
    return cli_error("codec: unknown subcommand '%s' (try 'voicebox codec --help')", argv[1]);
}
