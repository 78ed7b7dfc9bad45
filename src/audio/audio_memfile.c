/* audio_memfile.c — libsndfile's virtual I/O on memory (audio_memfile.h): the one reader of uploads held in
 * memory (audio_decode.c) and the one writer of encoded takes (audio_encode.c).
 */
#include "audio/audio_memfile.h"

#include <stdlib.h>
#include <string.h>

static sf_count_t memfile_len(void *user)
{
    return ((audio_memfile *)user)->size;
}

/* A reader cannot seek past its end; a writer can (the gap becomes zeros at the next write). */
static sf_count_t memfile_seek(sf_count_t offset, int whence, void *user)
{
    audio_memfile *m = user;
    sf_count_t pos = (whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size) + offset;
    if (pos < 0 || (!m->writer && pos > m->size)) return -1;
    m->pos = pos;
    return pos;
}

static sf_count_t memfile_read(void *ptr, sf_count_t count, void *user)
{
    audio_memfile *m = user;
    sf_count_t left = m->size - m->pos;
    if (count > left) count = left;
    if (count <= 0) return 0;
    memcpy(ptr, m->bytes + m->pos, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t memfile_write(const void *ptr, sf_count_t count, void *user)
{
    audio_memfile *m = user;
    if (!m->writer) return 0; /* a reader's bytes are borrowed */
    if (m->pos + count > m->cap) {
        sf_count_t cap = m->cap ? m->cap : 65536;
        while (cap < m->pos + count)
            cap *= 2;
        unsigned char *grown = realloc(m->buf, (size_t)cap);
        if (!grown) {
            m->oom = 1;
            return 0;
        }
        m->buf = grown;
        m->bytes = grown;
        m->cap = cap;
    }
    if (m->pos > m->size) memset(m->buf + m->size, 0, (size_t)(m->pos - m->size));
    memcpy(m->buf + m->pos, ptr, (size_t)count);
    m->pos += count;
    if (m->pos > m->size) m->size = m->pos;
    return count;
}

static sf_count_t memfile_tell(void *user)
{
    return ((audio_memfile *)user)->pos;
}

SF_VIRTUAL_IO audio_memfile_io = {memfile_len, memfile_seek, memfile_read, memfile_write, memfile_tell};
