/* audio_stream_enc.c — encoding a take while it is made, for a client that cannot wait for its end: Ogg Opus
 * and FLAC through libsndfile into a sink that never seeks back (an HTTP body).
 *
 * Checked against Debian's libsndfile 1.2 with a sink that refuses every seek away from its end: Opus pages
 * are written in order and never revisited; FLAC only fails to patch its STREAMINFO totals at the end, so the
 * stream says its length is unknown (readers decode it whole); MP3's encoder seeks back at the end and its
 * output is cut, so MP3 is refused here (it stays buffered, audio_encode).
 */
#include "audio/audio.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct audio_stream_enc {
    SNDFILE *sf;
    unsigned char *buf; /* bytes made and not yet taken: [start, len) */
    size_t start, len, cap;
    sf_count_t written; /* bytes ever written: the sink's position and length */
    int oom;
};

static sf_count_t sink_len(void *user)
{
    return ((audio_stream_enc *)user)->written;
}

static sf_count_t sink_seek(sf_count_t offset, int whence, void *user)
{
    audio_stream_enc *e = user;
    sf_count_t to = (whence == SEEK_SET ? 0 : e->written) + offset;
    return to == e->written ? to : -1; /* the bytes before are gone to the client */
}

static sf_count_t sink_read(void *ptr, sf_count_t count, void *user)
{
    (void)ptr;
    (void)count;
    (void)user;
    return 0;
}

static sf_count_t sink_write(const void *ptr, sf_count_t count, void *user)
{
    audio_stream_enc *e = user;
    if (count <= 0) return 0;
    if (e->start > 0 && e->start == e->len) e->start = e->len = 0;
    if (e->len + (size_t)count > e->cap) {
        if (e->start > 0) { /* move what is left to the front first */
            memmove(e->buf, e->buf + e->start, e->len - e->start);
            e->len -= e->start;
            e->start = 0;
        }
        size_t cap = e->cap ? e->cap : 65536;
        while (cap < e->len + (size_t)count)
            cap *= 2;
        if (cap > e->cap) {
            unsigned char *grown = realloc(e->buf, cap);
            if (!grown) {
                e->oom = 1;
                return 0;
            }
            e->buf = grown;
            e->cap = cap;
        }
    }
    memcpy(e->buf + e->len, ptr, (size_t)count);
    e->len += (size_t)count;
    e->written += count;
    return count;
}

static sf_count_t sink_tell(void *user)
{
    return ((audio_stream_enc *)user)->written;
}

audio_stream_enc *audio_stream_enc_new(const char *format, int sample_rate, audio_error *err)
{
    SF_INFO info = {0};
    info.samplerate = sample_rate;
    info.channels = 1;
    if (!strcmp(format, "opus"))
        info.format = SF_FORMAT_OGG | SF_FORMAT_OPUS;
    else if (!strcmp(format, "flac"))
        info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    else {
        if (err) snprintf(err->msg, sizeof err->msg, "format '%s' cannot be streamed (opus or flac)", format);
        return NULL;
    }
    audio_stream_enc *e = calloc(1, sizeof *e);
    if (!e) {
        if (err) snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    SF_VIRTUAL_IO io = {sink_len, sink_seek, sink_read, sink_write, sink_tell};
    if (!sf_format_check(&info) || !(e->sf = sf_open_virtual(&io, SFM_WRITE, &info, e))) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "libsndfile cannot start a %s stream: %s", format,
                     sf_strerror(NULL));
        free(e->buf);
        free(e);
        return NULL;
    }
    return e;
}

int audio_stream_enc_write(audio_stream_enc *e, const float *samples, size_t n, audio_error *err)
{
    if (!e->sf || sf_writef_float(e->sf, samples, (sf_count_t)n) != (sf_count_t)n || e->oom) {
        if (err) snprintf(err->msg, sizeof err->msg, "encoding failed%s", e->oom ? ": out of memory" : "");
        return -1;
    }
    return 0;
}

int audio_stream_enc_finish(audio_stream_enc *e, audio_error *err)
{
    if (!e->sf) return 0;
    sf_close(e->sf); /* FLAC's refused seek back to its STREAMINFO is no fault here */
    e->sf = NULL;
    if (e->oom) {
        if (err) snprintf(err->msg, sizeof err->msg, "encoding failed: out of memory");
        return -1;
    }
    return 0;
}

size_t audio_stream_enc_take(audio_stream_enc *e, void *buf, size_t max)
{
    size_t n = e->len - e->start;
    if (n > max) n = max;
    if (n == 0) return 0; /* buf may be NULL before the first byte */
    memcpy(buf, e->buf + e->start, n);
    e->start += n;
    return n;
}

void audio_stream_enc_free(audio_stream_enc *e)
{
    if (!e) return;
    if (e->sf) sf_close(e->sf);
    free(e->buf);
    free(e);
}
