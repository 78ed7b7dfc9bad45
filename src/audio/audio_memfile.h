/* audio_memfile.h — an in-memory file for libsndfile's virtual I/O (sf_open_virtual), inside the audio layer
 * only: decoding reads borrowed bytes through it (a write fails), encoding writes into a buffer that grows as
 * libsndfile writes (seeks past the end are filled with zeros by the next write, as a disk file would be).
 */
#ifndef VOICEBOX_AUDIO_MEMFILE_H
#define VOICEBOX_AUDIO_MEMFILE_H

#include <sndfile.h>

typedef struct {
    const unsigned char *bytes; /* what reads see: the borrowed input, or buf */
    unsigned char *buf;         /* a writer's growing buffer (its caller frees it) */
    sf_count_t size, cap, pos;
    int writer; /* 0: reads borrowed bytes and refuses writes */
    int oom;    /* a write could not grow buf */
} audio_memfile;

/* A file that reads `size` borrowed bytes. */
static inline audio_memfile audio_memfile_reader(const void *bytes, size_t size)
{
    audio_memfile m = {.bytes = bytes, .size = (sf_count_t)size};
    return m;
}

/* An empty file to write into. */
static inline audio_memfile audio_memfile_writer(void)
{
    audio_memfile m = {.writer = 1};
    return m;
}

/* The callbacks, for sf_open_virtual(&audio_memfile_io, mode, &info, &memfile). */
extern SF_VIRTUAL_IO audio_memfile_io;

#endif
