/* audio_decode.c — turn an audio file (on disk or in memory) into mono float at a chosen rate.
 *
 * libsndfile does the decoding (WAV, FLAC, OGG Vorbis/Opus, MP3, ...); channels are averaged to mono and,
 * when asked, libsoxr resamples. Input is untrusted (uploads): headers are not believed about lengths, the
 * buffer only grows as decoded audio actually arrives, and nothing here aborts on bad bytes.
 *
 * What a few KB may cost is bounded before any work is done: rates outside 4 kHz..384 kHz are refused (a
 * 1 Hz WAV would be resampled into gigabytes), a header that declares more than the caller's limit is refused
 * unread, and decoding stops at the limit for formats whose headers do not know their length (Ogg, MP3, raw
 * streams). Samples that are not finite (NaN, +-inf in float files) or beyond 1000 (huge finite floats, which
 * overflow in the mix or the resampler) are refused: they would pass as silence or poison every later sum.
 */
#include "audio/audio.h"
#include "audio/audio_memfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CHANNELS 256
#define MIN_RATE 4000
#define MAX_RATE 384000
/* audio_decode_file's limit: longer input is refused rather than decoded into GB */
#define MAX_SECONDS 3600
/* float samples beyond this (60 dB over full scale) are no recording: near FLT_MAX they overflow to infinity
 * in the channel mix or the resampler */
#define MAX_MAGNITUDE 1000.0f
#define CHUNK_FRAMES 8192

void audio_buf_free(audio_buf *b)
{
    if (!b) return;
    free(b->samples);
    memset(b, 0, sizeof *b);
}

/* Read every frame of an open file, averaging channels, then resample if asked. Returns 0, -1 on an error,
 * -2 when the audio lasts longer than max_seconds (by its header or as decoded). */
static int decode_open(SNDFILE *sf, const SF_INFO *info, const char *name, int target_rate,
                       double max_seconds, audio_buf *out, audio_error *err)
{
    float *frames = NULL, *mono = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;

    if (info->channels < 1 || info->channels > MAX_CHANNELS) {
        snprintf(err->msg, sizeof err->msg, "%s: unusable audio header (%d channels)", name, info->channels);
        goto fail;
    }
    if (info->samplerate < MIN_RATE || info->samplerate > MAX_RATE) {
        snprintf(err->msg, sizeof err->msg, "%s: a sample rate of %d Hz is outside %d to %d Hz", name,
                 info->samplerate, MIN_RATE, MAX_RATE);
        goto fail;
    }
    if (!(max_seconds > 0) || max_seconds > MAX_SECONDS) max_seconds = MAX_SECONDS;
    size_t ch = (size_t)info->channels;
    size_t limit = (size_t)((double)info->samplerate * max_seconds);
    /* SF_COUNT_MAX (or a negative count) means the header does not know; the read loop below still stops */
    if (info->frames > 0 && info->frames < SF_COUNT_MAX && (uint64_t)info->frames > limit) {
        snprintf(err->msg, sizeof err->msg, "%s: the audio lasts %.1f s, over the %.0f s limit", name,
                 (double)info->frames / info->samplerate, max_seconds);
        rc = -2;
        goto fail;
    }
    frames = malloc(sizeof(float) * ch * CHUNK_FRAMES);
    if (!frames) goto nomem;
    for (;;) {
        sf_count_t got = sf_readf_float(sf, frames, CHUNK_FRAMES);
        if (got <= 0) break;
        if (n + (size_t)got > limit) {
            snprintf(err->msg, sizeof err->msg, "%s: the audio lasts longer than the %.0f s limit", name,
                     max_seconds);
            rc = -2;
            goto fail;
        }
        for (size_t i = 0; i < (size_t)got * ch; i++)
            if (!isfinite(frames[i])) {
                snprintf(err->msg, sizeof err->msg, "%s: sample %zu is not a finite number (%s)", name,
                         n + i / ch, isnan(frames[i]) ? "NaN" : "infinity");
                goto fail;
            } else if (fabsf(frames[i]) > MAX_MAGNITUDE) {
                snprintf(err->msg, sizeof err->msg, "%s: sample %zu is %g, far beyond full scale (1.0)", name,
                         n + i / ch, (double)frames[i]);
                goto fail;
            }
        if (n + (size_t)got > cap) {
            size_t ncap = cap ? cap * 2 : (size_t)got * 4;
            while (ncap < n + (size_t)got)
                ncap *= 2;
            float *grown = realloc(mono, ncap * sizeof(float));
            if (!grown) goto nomem;
            mono = grown;
            cap = ncap;
        }
        for (sf_count_t i = 0; i < got; i++) {
            const float *f = frames + (size_t)i * ch;
            float sum = 0.0f;
            for (size_t c = 0; c < ch; c++)
                sum += f[c];
            mono[n + (size_t)i] = sum / (float)ch;
        }
        n += (size_t)got;
    }
    if (sf_error(sf) != SF_ERR_NO_ERROR) {
        snprintf(err->msg, sizeof err->msg, "%s: decoding failed (%s)", name, sf_strerror(sf));
        goto fail;
    }
    if (n == 0) {
        snprintf(err->msg, sizeof err->msg, "%s: the file contains no audio", name);
        goto fail;
    }
    free(frames);
    frames = NULL;

    out->sample_rate = info->samplerate;
    if (target_rate > 0 && target_rate != info->samplerate) {
        float *res = NULL;
        size_t n_res = 0;
        if (audio_resample(mono, n, info->samplerate, target_rate, &res, &n_res, err) != 0) goto fail;
        free(mono);
        mono = res;
        n = n_res;
        if (n == 0) {
            snprintf(err->msg, sizeof err->msg, "%s: too short to resample to %d Hz", name, target_rate);
            goto fail;
        }
        out->sample_rate = target_rate;
    }
    out->samples = mono;
    out->n = n;
    return 0;

nomem:
    snprintf(err->msg, sizeof err->msg, "%s: out of memory while decoding", name);
    err->out_of_memory = 1;
fail:
    free(frames);
    free(mono);
    return rc;
}

int audio_decode_file(const char *path, int target_rate, audio_buf *out, audio_error *err)
{
    audio_error local;
    if (!err) err = &local;
    memset(out, 0, sizeof *out);
    /* regular files only: a FIFO would block the open (and its caller) until someone writes to it */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0) close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open_fd(fd, SFM_READ, &info, 0); /* 0: the descriptor stays ours to close */
    if (!sf) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot decode audio (%s)", path, sf_strerror(NULL));
        close(fd);
        return -1;
    }
    int rc = decode_open(sf, &info, path, target_rate, MAX_SECONDS, out, err);
    sf_close(sf);
    close(fd);
    return rc;
}

int audio_decode_memory(const void *bytes, size_t size, int target_rate, audio_buf *out, audio_error *err)
{
    return audio_decode_memory_max(bytes, size, target_rate, MAX_SECONDS, out, err);
}

int audio_decode_memory_max(const void *bytes, size_t size, int target_rate, double max_seconds,
                            audio_buf *out, audio_error *err)
{
    audio_error local;
    if (!err) err = &local;
    memset(out, 0, sizeof *out);
    if (!bytes || size == 0) {
        snprintf(err->msg, sizeof err->msg, "upload: the audio file is empty");
        return -1;
    }
    audio_memfile m = audio_memfile_reader(bytes, size);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open_virtual(&audio_memfile_io, SFM_READ, &info, &m);
    if (!sf) {
        snprintf(err->msg, sizeof err->msg, "upload: cannot decode audio (%s)", sf_strerror(NULL));
        return -1;
    }
    int rc = decode_open(sf, &info, "upload", target_rate, max_seconds, out, err);
    sf_close(sf);
    return rc;
}
