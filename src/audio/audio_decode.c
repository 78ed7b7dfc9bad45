/* audio_decode.c — turn an audio file (on disk or in memory) into mono float at a chosen rate.
 *
 * libsndfile does the decoding (WAV, FLAC, OGG Vorbis/Opus, MP3, ...); channels are averaged to mono and,
 * when asked, libsoxr resamples. Input is untrusted (uploads): headers are not believed about lengths, the
 * buffer only grows as decoded audio actually arrives, and nothing here aborts on bad bytes.
 */
#include "audio/audio.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHANNELS 256
#define MAX_RATE 768000
#define MAX_SECONDS 3600 /* longer input is refused rather than decoded into gigabytes */
#define CHUNK_FRAMES 8192

void audio_buf_free(audio_buf *b)
{
    if (!b) return;
    free(b->samples);
    memset(b, 0, sizeof *b);
}

/* An in-memory file for sf_open_virtual. */
typedef struct {
    const unsigned char *bytes;
    sf_count_t size;
    sf_count_t pos;
} mem_file;

static sf_count_t mem_get_filelen(void *user)
{
    return ((mem_file *)user)->size;
}

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
    mem_file *m = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
    sf_count_t pos = base + offset;
    if (pos < 0 || pos > m->size) return -1;
    m->pos = pos;
    return pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user)
{
    mem_file *m = user;
    sf_count_t left = m->size - m->pos;
    if (count > left) count = left;
    if (count <= 0) return 0;
    memcpy(ptr, m->bytes + m->pos, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
    (void)ptr;
    (void)count;
    (void)user;
    return 0; /* read only */
}

static sf_count_t mem_tell(void *user)
{
    return ((mem_file *)user)->pos;
}

/* Read every frame of an open file, averaging channels, then resample if asked. */
static int decode_open(SNDFILE *sf, const SF_INFO *info, const char *name, int target_rate, audio_buf *out,
                       audio_error *err)
{
    float *frames = NULL, *mono = NULL;
    size_t n = 0, cap = 0;

    if (info->channels < 1 || info->channels > MAX_CHANNELS || info->samplerate < 1 ||
        info->samplerate > MAX_RATE) {
        snprintf(err->msg, sizeof err->msg, "%s: unusable audio header (%d channels at %d Hz)", name,
                 info->channels, info->samplerate);
        goto fail;
    }
    size_t ch = (size_t)info->channels;
    size_t limit = (size_t)info->samplerate * MAX_SECONDS;
    frames = malloc(sizeof(float) * ch * CHUNK_FRAMES);
    if (!frames) goto nomem;
    for (;;) {
        sf_count_t got = sf_readf_float(sf, frames, CHUNK_FRAMES);
        if (got <= 0) break;
        if (n + (size_t)got > limit) {
            snprintf(err->msg, sizeof err->msg, "%s: audio is longer than %d seconds", name, MAX_SECONDS);
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
fail:
    free(frames);
    free(mono);
    return -1;
}

int audio_decode_file(const char *path, int target_rate, audio_buf *out, audio_error *err)
{
    audio_error local;
    if (!err) err = &local;
    memset(out, 0, sizeof *out);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot decode audio (%s)", path, sf_strerror(NULL));
        return -1;
    }
    int rc = decode_open(sf, &info, path, target_rate, out, err);
    sf_close(sf);
    return rc;
}

int audio_decode_memory(const void *bytes, size_t size, int target_rate, audio_buf *out, audio_error *err)
{
    audio_error local;
    if (!err) err = &local;
    memset(out, 0, sizeof *out);
    if (!bytes || size == 0) {
        snprintf(err->msg, sizeof err->msg, "upload: the audio file is empty");
        return -1;
    }
    mem_file m = {bytes, (sf_count_t)size, 0};
    SF_VIRTUAL_IO io = {mem_get_filelen, mem_seek, mem_read, mem_write, mem_tell};
    SF_INFO info = {0};
    SNDFILE *sf = sf_open_virtual(&io, SFM_READ, &info, &m);
    if (!sf) {
        snprintf(err->msg, sizeof err->msg, "upload: cannot decode audio (%s)", sf_strerror(NULL));
        return -1;
    }
    int rc = decode_open(sf, &info, "upload", target_rate, out, err);
    sf_close(sf);
    return rc;
}
