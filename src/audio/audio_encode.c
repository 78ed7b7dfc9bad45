/* audio_encode.c — a take in another container for clients that ask for one (the OpenAI-style speech
 * route): WAV, FLAC, MP3 and Ogg Opus through libsndfile (Debian's 1.2 writes all four), into memory. */
#include "audio/audio.h"
#include "audio/audio_memfile.h"

#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(audio_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int audio_encode(const float *samples, size_t n, int sample_rate, const char *format, void **out,
                 size_t *out_size, audio_error *err)
{
    *out = NULL;
    *out_size = 0;
    if (!strcmp(format, "pcm")) { /* raw 16-bit little-endian, as OpenAI's pcm */
        short *pcm = malloc(n * sizeof *pcm + 1);
        if (!pcm) return fail(err, "out of memory encoding pcm");
        for (size_t i = 0; i < n; i++) {
            float x = samples[i] * 32767.0f;
            pcm[i] = (short)(x > 32767.0f ? 32767 : x < -32768.0f ? -32768 : x);
        }
        *out = pcm;
        *out_size = n * sizeof *pcm;
        return 0;
    }
    SF_INFO info = {0};
    info.samplerate = sample_rate;
    info.channels = 1;
    if (!strcmp(format, "wav"))
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    else if (!strcmp(format, "flac"))
        info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    else if (!strcmp(format, "mp3"))
        info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    else if (!strcmp(format, "opus"))
        info.format = SF_FORMAT_OGG | SF_FORMAT_OPUS;
    else
        return fail(err, "format '%s' is not one of wav, flac, mp3, opus, pcm", format);
    if (!sf_format_check(&info))
        return fail(err, "this libsndfile cannot write %s at %d Hz", format, sample_rate);
    audio_memfile m = audio_memfile_writer();
    SNDFILE *sf = sf_open_virtual(&audio_memfile_io, SFM_WRITE, &info, &m);
    if (!sf) {
        free(m.buf);
        return fail(err, "libsndfile cannot start a %s stream: %s", format, sf_strerror(NULL));
    }
    sf_count_t wrote = sf_writef_float(sf, samples, (sf_count_t)n);
    int closed = sf_close(sf);
    if (wrote != (sf_count_t)n || closed != 0 || m.oom) {
        free(m.buf);
        return fail(err, "encoding %s failed%s", format, m.oom ? ": out of memory" : "");
    }
    *out = m.buf;
    *out_size = (size_t)m.size;
    return 0;
}
