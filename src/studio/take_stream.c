/* take_stream.c — a take's audio on its way to a reader: the on-the-fly crossfade, the 16-bit conversion and
 * the bounded pipe (see take_stream.h).
 *
 * The crossfade is the stored take's (generation.c, join_crossfade) done without the whole take: the last
 * `fade` samples written are held back in `hold`; when the next chunk begins, its first samples gather in
 * `head` until there are as many as held (fewer when the chunk is that short), and the two are mixed with
 * the same weights, sample for sample. Nothing else is held, so the first audio leaves with the first frame.
 */
#include "studio/take_stream.h"

#include "audio/audio.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_MS 100 /* a writer waiting for room asks stop() this often */

struct studio_take_stream {
    pthread_mutex_t mu;
    pthread_cond_t room; /* the reader took bytes, or left */
    unsigned char *ring;
    size_t cap, start, len; /* bytes in the ring: [start, start + len) modulo cap */
    int ended;              /* 1 clean end, -1 failed; 0 while the take runs */
    int closed;             /* the reader has gone */
    int reader_waits;       /* the last read found nothing: notify on the next bytes or the end */
    void (*notify)(void *);
    void *notify_arg;
    size_t written; /* samples */
    /* the crossfade (writer only) */
    size_t fade;
    float *hold, *head; /* [fade] each */
    size_t hold_n, head_n, head_want;
    int mixing; /* a chunk began after audio: its first head_want samples are faded in */
};

studio_take_stream *studio_take_stream_new(size_t capacity, size_t fade)
{
    studio_take_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cap = capacity;
    s->fade = fade;
    s->ring = malloc(capacity);
    s->hold = malloc((fade + 1) * sizeof *s->hold);
    s->head = malloc((fade + 1) * sizeof *s->head);
    if (!s->ring || !s->hold || !s->head) {
        free(s->ring);
        free(s->hold);
        free(s->head);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->room, NULL);
    return s;
}

void studio_take_stream_free(studio_take_stream *s)
{
    if (!s) return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->room);
    free(s->ring);
    free(s->hold);
    free(s->head);
    free(s);
}

/* ---- the pipe ---- */

/* mu held: bytes or the end arrived. */
static void wake_reader(studio_take_stream *s)
{
    if (!s->reader_waits || !s->notify) return;
    s->reader_waits = 0;
    s->notify(s->notify_arg);
}

static int pipe_write(studio_take_stream *s, const unsigned char *p, size_t n, int (*stop)(void *), void *arg)
{
    pthread_mutex_lock(&s->mu);
    while (n > 0) {
        if (s->closed) break;
        if (s->len == s->cap) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += WAIT_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->room, &s->mu, &ts);
            if (s->len == s->cap && stop && stop(arg)) break;
            continue;
        }
        size_t end = (s->start + s->len) % s->cap;
        size_t part = s->cap - s->len;
        if (part > s->cap - end) part = s->cap - end;
        if (part > n) part = n;
        memcpy(s->ring + end, p, part);
        s->len += part;
        p += part;
        n -= part;
        wake_reader(s);
    }
    pthread_mutex_unlock(&s->mu);
    return n ? -1 : 0;
}

/* Samples, final, into the pipe as 16-bit PCM. */
static int emit(studio_take_stream *s, const float *pcm, size_t n, int (*stop)(void *), void *arg)
{
    unsigned char buf[8192];
    while (n > 0) {
        size_t part = n < sizeof buf / 2 ? n : sizeof buf / 2;
        audio_s16le(pcm, part, buf);
        if (pipe_write(s, buf, part * 2, stop, arg) != 0) return -1;
        __atomic_add_fetch(&s->written, part, __ATOMIC_RELAXED);
        pcm += part;
        n -= part;
    }
    return 0;
}

long studio_take_stream_read(studio_take_stream *s, void *buf, size_t max)
{
    pthread_mutex_lock(&s->mu);
    long got = 0;
    while (max > 0 && s->len > 0) {
        size_t part = s->cap - s->start;
        if (part > s->len) part = s->len;
        if (part > max) part = max;
        memcpy((unsigned char *)buf + got, s->ring + s->start, part);
        s->start = (s->start + part) % s->cap;
        s->len -= part;
        got += (long)part;
        max -= part;
    }
    if (got)
        pthread_cond_signal(&s->room);
    else if (s->ended)
        got = s->ended > 0 ? -1 : -2;
    else
        s->reader_waits = 1;
    pthread_mutex_unlock(&s->mu);
    return got;
}

void studio_take_stream_close(studio_take_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    s->notify = NULL;
    pthread_cond_signal(&s->room);
    pthread_mutex_unlock(&s->mu);
}

void studio_take_stream_notify(studio_take_stream *s, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&s->mu);
    s->notify = s->closed ? NULL : fn;
    s->notify_arg = arg;
    pthread_mutex_unlock(&s->mu);
}

size_t studio_take_stream_samples(studio_take_stream *s)
{
    return __atomic_load_n(&s->written, __ATOMIC_RELAXED);
}

/* ---- the crossfade ---- */

/* Appends samples to what is written: all but the last `fade` of everything so far leave now. */
static int push(studio_take_stream *s, const float *pcm, size_t n, int (*stop)(void *), void *arg)
{
    size_t total = s->hold_n + n;
    size_t out = total > s->fade ? total - s->fade : 0;
    size_t from_hold = out < s->hold_n ? out : s->hold_n;
    if (from_hold) {
        if (emit(s, s->hold, from_hold, stop, arg) != 0) return -1;
        memmove(s->hold, s->hold + from_hold, (s->hold_n - from_hold) * sizeof *s->hold);
        s->hold_n -= from_hold;
    }
    size_t from_pcm = out - from_hold;
    if (from_pcm && emit(s, pcm, from_pcm, stop, arg) != 0) return -1;
    memcpy(s->hold + s->hold_n, pcm + from_pcm, (n - from_pcm) * sizeof *s->hold);
    s->hold_n += n - from_pcm;
    return 0;
}

/* The held tail and the chunk's first f samples overlap, the chunk fading in (join_crossfade's weights). */
static void mix(studio_take_stream *s, size_t f)
{
    float *tail = s->hold + s->hold_n - f;
    for (size_t k = 0; k < f; k++) {
        float w = ((float)k + 0.5f) / (float)f;
        tail[k] = tail[k] * (1.0f - w) + s->head[k] * w;
    }
    s->mixing = 0;
}

void studio_take_stream_chunk_begin(studio_take_stream *s)
{
    s->mixing = s->hold_n > 0;
    s->head_want = s->hold_n;
    s->head_n = 0;
}

int studio_take_stream_audio(studio_take_stream *s, const float *pcm, size_t n, int (*stop)(void *),
                             void *arg)
{
    if (s->mixing) {
        size_t take = s->head_want - s->head_n;
        if (take > n) take = n;
        memcpy(s->head + s->head_n, pcm, take * sizeof *pcm);
        s->head_n += take;
        pcm += take;
        n -= take;
        if (s->head_n < s->head_want) return 0;
        mix(s, s->head_n);
    }
    return n ? push(s, pcm, n, stop, arg) : 0;
}

void studio_take_stream_chunk_end(studio_take_stream *s)
{
    if (s->mixing && s->head_n > 0) mix(s, s->head_n);
    s->mixing = 0;
}

void studio_take_stream_end(studio_take_stream *s, int ok, int (*stop)(void *), void *arg)
{
    if (ok && s->hold_n && emit(s, s->hold, s->hold_n, stop, arg) != 0) ok = 0;
    s->hold_n = 0;
    pthread_mutex_lock(&s->mu);
    s->ended = ok ? 1 : -1;
    wake_reader(s);
    pthread_mutex_unlock(&s->mu);
}
