/* cli_codec.c — `voicebox codec ...`: the 12 Hz speech tokenizer on its own, for checking it against other
 * tools. `codec encode --model DIR in.wav` prints the audio's codes, one 80 ms frame per line (16 integers);
 * `codec decode --model DIR codes.txt -o out.wav` reads such lines back and writes 24 kHz 16-bit mono audio.
 * Nothing here does model math: audio is read with audio.h, codes come from qt_codec_* in qt.h. */
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
    fprintf(out,
            "usage: voicebox codec encode --model DIR [--threads N] IN.wav   print 16 codes per 80 ms frame\n"
            "       voicebox codec decode --model DIR [--threads N] CODES.txt -o OUT.wav\n"
            "                                      CODES.txt: one frame per line, 16 integers 0..2047 -> 24 "
            "kHz WAV\n"
            "DIR is a model directory (its speech_tokenizer/ is used), a Hub repo id in the Hugging Face\n"
            "cache, or a speech_tokenizer directory. Any rate libsndfile reads is resampled to 24 kHz.\n");
    return out == stdout ? 0 : 2;
}

static int codec_encode(int argc, char **argv)
{
    const char *model = NULL, *in = NULL;
    int threads = 0;
    const cli_opt opts[] = {
        CLI_STR_OPT("--model", NULL, &model),
        CLI_INT_OPT("--threads", &threads, 0, 1024,
                    "codec encode: --threads needs a number from 0 (all cores) to 1024, not '%s'"),
    };
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("codec encode", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (r == CLI_HELP) return usage(stdout);
    if (r) return r;
    if (n_pos > 1) return cli_error("codec encode: one audio file at a time ('%s' and '%s')", pos[0], pos[1]);
    if (n_pos) in = pos[0];
    if (!model) return cli_error("codec encode: --model DIR is required");
    if (!in) return cli_error("codec encode: no audio file given");

    audio_buf audio = {0};
    audio_error aerr = {{0}, 0, 0};
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

/* Reads CODES.txt: one frame per line, QT_CODEBOOKS integers separated by blanks or commas; blank lines and
 * lines starting with '#' are skipped. *codes is malloc'd. Errors name the file, the line and the fault. */
static int read_codes(const char *path, int32_t **codes, int *n_frames)
{
    *codes = NULL;
    *n_frames = 0;
    FILE *f = fopen(path, "r");
    if (!f) return cli_error("%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, n_alloc = 0;
    int frames = 0, lineno = 0, rc = 0;
    int32_t *buf = NULL;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p || *p == '#') continue;
        if ((size_t)frames >= n_alloc) {
            size_t more = n_alloc ? 2 * n_alloc : 256;
            int32_t *grown = more < (size_t)1 << 26 ? realloc(buf, more * QT_CODEBOOKS * sizeof *buf) : NULL;
            if (!grown) {
                rc = cli_error("%s:%d: too many frames (out of memory)", path, lineno);
                break;
            }
            buf = grown;
            n_alloc = more;
        }
        int k = 0;
        for (;;) {
            while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n')
                p++;
            if (!*p) break;
            char *end;
            errno = 0;
            long v = strtol(p, &end, 10);
            if (end == p || (*end && !strchr(" \t,\r\n", *end))) {
                rc = cli_error("%s:%d: '%.*s' is not an integer", path, lineno, (int)strcspn(p, " \t,\r\n"),
                               p);
                break;
            }
            if (k >= QT_CODEBOOKS) {
                rc = cli_error("%s:%d: more than %d values (one frame of %d codes per line)", path, lineno,
                               QT_CODEBOOKS, QT_CODEBOOKS);
                break;
            }
            if (errno || v < 0 || v >= QT_CODEBOOK_SIZE) {
                rc = cli_error("%s:%d: code %.*s (codebook %d) is outside 0..%d", path, lineno,
                               (int)(end - p), p, k, QT_CODEBOOK_SIZE - 1);
                break;
            }
            buf[(size_t)frames * QT_CODEBOOKS + k++] = (int32_t)v;
            p = end;
        }
        if (rc) break;
        if (k != QT_CODEBOOKS) {
            rc = cli_error("%s:%d: %d values, expected %d (one frame per line)", path, lineno, k,
                           QT_CODEBOOKS);
            break;
        }
        frames++;
    }
    if (!rc && ferror(f)) rc = cli_error("%s: read error", path);
    if (!rc && frames == 0) rc = cli_error("%s: no frames (expected lines of %d codes)", path, QT_CODEBOOKS);
    free(line);
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *codes = buf;
    *n_frames = frames;
    return 0;
}

static int codec_decode(int argc, char **argv)
{
    const char *model = NULL, *in = NULL, *out = NULL;
    int threads = 0;
    const cli_opt opts[] = {
        CLI_STR_OPT("--model", NULL, &model),
        CLI_STR_OPT("--output", "-o", &out),
        CLI_INT_OPT("--threads", &threads, 0, 1024,
                    "codec decode: --threads needs a number from 0 (all cores) to 1024, not '%s'"),
    };
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("codec decode", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (r == CLI_HELP) return usage(stdout);
    if (r) return r;
    if (n_pos > 1) return cli_error("codec decode: one codes file at a time ('%s' and '%s')", pos[0], pos[1]);
    if (n_pos) in = pos[0];
    if (!model) return cli_error("codec decode: --model DIR is required");
    if (!in) return cli_error("codec decode: no codes file given");
    if (!out) return cli_error("codec decode: -o OUT.wav is required");

    int32_t *codes = NULL;
    int frames = 0;
    if (read_codes(in, &codes, &frames)) return 1;
    qt_error err = {0};
    qt_codec *codec = qt_codec_load(model, threads, &err);
    size_t n = (size_t)frames * QT_SAMPLES_PER_FRAME;
    float *pcm = codec ? malloc(n * sizeof *pcm) : NULL;
    int rc = 0;
    if (!codec) {
        rc = cli_error("%s", err.msg);
    } else if (!pcm) {
        rc = cli_error("codec decode: no memory for %zu samples", n);
    } else if (qt_codec_decode(codec, codes, frames, pcm, &err)) {
        rc = cli_error("%s", err.msg);
    } else {
        audio_error aerr = {{0}, 0, 0};
        if (audio_write_wav16(out, pcm, n, QT_SAMPLE_RATE, &aerr)) rc = cli_error("%s", aerr.msg);
    }
    free(pcm);
    free(codes);
    qt_codec_free(codec);
    return rc;
}

int cli_codec(int argc, char **argv)
{
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(stdout);
    if (!strcmp(argv[1], "encode")) return codec_encode(argc - 1, argv + 1);
    if (!strcmp(argv[1], "decode")) return codec_decode(argc - 1, argv + 1);
    return cli_error("codec: unknown subcommand '%s' (try 'voicebox codec --help')", argv[1]);
}
