/* audio_wav.c — 16-bit PCM mono WAV out: an in-memory image, and an atomic file write.
 *
 * The file write never leaves a half-written target: the image goes to a temp file in the same directory,
 * is fsync'd, then renamed over the target (and the directory fsync'd). A failure removes the temp file.
 */
#include "audio/audio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAV_HEADER 44

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
    p[2] = (v >> 16) & 0xff;
    p[3] = (v >> 24) & 0xff;
}

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
}

static int16_t to_s16(float x)
{
    if (!(x > -1.0f)) /* also catches NaN */
        x = x != x ? 0.0f : -1.0f;
    if (x > 1.0f) x = 1.0f;
    return (int16_t)lrintf(x * 32767.0f);
}

/* RIFF and data sizes: what the header says, or 0xFFFFFFFF (unknown) for a stream. */
static void put_header(unsigned char *p, int sample_rate, uint32_t riff_size, uint32_t data_size)
{
    memcpy(p, "RIFF", 4);
    put_u32(p + 4, riff_size);
    memcpy(p + 8, "WAVEfmt ", 8);
    put_u32(p + 16, 16);
    put_u16(p + 20, 1); /* PCM */
    put_u16(p + 22, 1); /* mono */
    put_u32(p + 24, (uint32_t)sample_rate);
    put_u32(p + 28, (uint32_t)sample_rate * 2);
    put_u16(p + 32, 2);
    put_u16(p + 34, 16);
    memcpy(p + 36, "data", 4);
    put_u32(p + 40, data_size);
}

void audio_wav16_stream_header(unsigned char out[AUDIO_WAV_HEADER_BYTES], int sample_rate)
{
    put_header(out, sample_rate, UINT32_MAX, UINT32_MAX);
}

void audio_s16le(const float *samples, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++)
        put_u16(out + 2 * i, (uint16_t)to_s16(samples[i]));
}

int audio_encode_wav16(const float *samples, size_t n, int sample_rate, void **out, size_t *out_size,
                       audio_error *err)
{
    audio_error local;
    if (!err) err = &local;
    *out = NULL;
    *out_size = 0;
    if (sample_rate <= 0) {
        snprintf(err->msg, sizeof err->msg, "wav: invalid sample rate %d Hz", sample_rate);
        return -1;
    }
    if (n > (UINT32_MAX - WAV_HEADER) / 2) {
        snprintf(err->msg, sizeof err->msg, "wav: %zu samples do not fit a WAV file", n);
        return -1;
    }
    size_t size = WAV_HEADER + n * 2;
    unsigned char *p = malloc(size);
    if (!p) {
        snprintf(err->msg, sizeof err->msg, "wav: out of memory for %zu bytes", size);
        return -1;
    }
    put_header(p, sample_rate, (uint32_t)(size - 8), (uint32_t)(n * 2));
    audio_s16le(samples, n, p + WAV_HEADER);
    *out = p;
    *out_size = size;
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int audio_write_wav16(const char *path, const float *samples, size_t n, int sample_rate, audio_error *err)
{
    audio_error local;
    if (!err) err = &local;
    void *image = NULL;
    size_t size = 0;
    char *tmp = NULL, *dir = NULL;
    int fd = -1;

    err->errnum = 0;
    if (audio_encode_wav16(samples, n, sample_rate, &image, &size, err) != 0) return -1;
    const char *slash = strrchr(path, '/');
    if (slash)
        dir = strndup(path, (size_t)(slash - path) + 1);
    else
        dir = strdup("./");
    const char *base = slash ? slash + 1 : path;
    if (!dir || asprintf(&tmp, "%s.%s.tmp-XXXXXX", dir, base) < 0) {
        tmp = NULL;
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
        goto fail;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        err->errnum = errno;
        snprintf(err->msg, sizeof err->msg, "%s: cannot create a temp file beside it (%s)", path,
                 strerror(errno));
        free(tmp);
        tmp = NULL;
        goto fail;
    }
    if (fchmod(fd, 0644) != 0 || write_all(fd, image, size) != 0 || fsync(fd) != 0) {
        err->errnum = errno;
        snprintf(err->msg, sizeof err->msg, "%s: write failed (%s)", path, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        err->errnum = errno;
        snprintf(err->msg, sizeof err->msg, "%s: write failed on close (%s)", path, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        err->errnum = errno;
        snprintf(err->msg, sizeof err->msg, "%s: cannot rename the temp file into place (%s)", path,
                 strerror(errno));
        goto fail;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd); /* makes the rename itself durable; best effort */
        close(dfd);
    }
    free(tmp);
    free(dir);
    free(image);
    return 0;

fail:
    if (fd >= 0) close(fd);
    if (tmp) unlink(tmp);
    free(tmp);
    free(dir);
    free(image);
    return -1;
}
