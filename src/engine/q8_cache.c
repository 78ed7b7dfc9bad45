/* q8_cache.c — the int8 weights kept between runs (the file format is in q8_cache.h).
 *
 * Why: quantizing at load reads every bf16 matrix and writes a fresh int8 copy into anonymous memory; on the
 * 1.7B model that is ~1 CPU-second plus 1.6 GB of first-touch page faults, which on the 2-core VMs measured
 * here cost another 1 to 7 s. A mapped file is read from the page cache instead (MAP_POPULATE), and checking
 * its XXH3 checksum reads it at memory speed.
 *
 * Must not: decide where the cache lives (the caller gives the directory) or fail a model load (every fault
 * here means "quantize as if there were no file").
 */
#include "engine/q8_cache.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "VBQ8\r\n\x1a\n"
#define VERSION 1
#define NAME_BYTES 96
#define ALIGN 64

typedef struct {
    char magic[8];
    uint32_t version, group;
    uint64_t src_size;
    int64_t src_mtime_ns;
    uint32_t n, pad;
    uint64_t bytes, checksum; /* the file's size; XXH3-64 of bytes [64, bytes) */
    uint8_t reserved[8];
} file_header;

typedef struct {
    char name[NAME_BYTES];
    int32_t rows, cols, groups, pad;
    uint64_t q_off, scale_off;
} file_entry;

_Static_assert(sizeof(file_header) == 64, "the header is 64 bytes");
_Static_assert(sizeof(file_entry) == 128, "an entry is 128 bytes");

typedef struct {
    char name[NAME_BYTES];
    const qt_q8 *q;
} matrix;

struct qt_q8_cache {
    char path[PATH_MAX + 32];
    uint64_t src_size;
    int64_t src_mtime_ns;
    uint8_t *map; /* the whole file when it was whole, else NULL */
    size_t map_bytes;
    const file_entry *entries;
    uint32_t n;
    matrix *all; /* every matrix the model took, from the file or quantized: what a save writes */
    int n_all, cap_all;
    int dirty;  /* a matrix was quantized: the file is missing, stale or short of it */
    int failed; /* a matrix could not be remembered: no save */
    const char *state;
};

static size_t q_bytes(const qt_q8 *q)
{
    return (size_t)q->rows * q->groups * QT_Q8_GROUP;
}

static size_t scale_bytes(const qt_q8 *q)
{
    return (size_t)q->rows * q->groups * sizeof(float);
}

static uint64_t round_up(uint64_t x)
{
    return (x + ALIGN - 1) / ALIGN * ALIGN;
}

/* The mapped file is whole and made from this model file by this format; entries inside the file. */
static int whole(const qt_q8_cache *c, const uint8_t *p, size_t bytes)
{
    const file_header *h = (const file_header *)p;
    if (bytes < sizeof *h || memcmp(h->magic, MAGIC, 8) || h->version != VERSION || h->group != QT_Q8_GROUP ||
        h->src_size != c->src_size || h->src_mtime_ns != c->src_mtime_ns || h->bytes != bytes ||
        h->n > (bytes - sizeof *h) / sizeof(file_entry))
        return 0;
    if (XXH3_64bits(p + sizeof *h, bytes - sizeof *h) != h->checksum) return 0;
    const file_entry *e = (const file_entry *)(p + sizeof *h);
    for (uint32_t i = 0; i < h->n; i++) {
        qt_q8 q = {e[i].rows, e[i].cols, e[i].groups, NULL, NULL, 0};
        if (memchr(e[i].name, 0, NAME_BYTES) == NULL || q.rows <= 0 || q.cols <= 0 ||
            q.groups != (q.cols + QT_Q8_GROUP - 1) / QT_Q8_GROUP || e[i].q_off % ALIGN ||
            e[i].scale_off % ALIGN || e[i].q_off > bytes || q_bytes(&q) > bytes - e[i].q_off ||
            e[i].scale_off > bytes || scale_bytes(&q) > bytes - e[i].scale_off)
            return 0;
    }
    return 1;
}

qt_q8_cache *qt_q8_cache_open(const char *dir, const char *model_path)
{
    struct stat st;
    char real[PATH_MAX];
    if (stat(model_path, &st) != 0 || !realpath(model_path, real)) return NULL;
    qt_q8_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->src_size = (uint64_t)st.st_size;
    c->src_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    c->state = "empty";
    snprintf(c->path, sizeof c->path, "%s/%016llx.q8", dir,
             (unsigned long long)XXH3_64bits(real, strlen(real)));
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return c;
    struct stat fs;
    if (fstat(fd, &fs) == 0 && fs.st_size >= (off_t)sizeof(file_header)) {
        void *p = mmap(NULL, (size_t)fs.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p != MAP_FAILED && whole(c, p, (size_t)fs.st_size)) {
            c->map = p;
            c->map_bytes = (size_t)fs.st_size;
            c->n = ((const file_header *)p)->n;
            c->entries = (const file_entry *)((const uint8_t *)p + sizeof(file_header));
            c->state = "hit";
        } else if (p != MAP_FAILED) {
            munmap(p, (size_t)fs.st_size);
        }
    }
    close(fd);
    return c;
}

static int remember(qt_q8_cache *c, const char *name, const qt_q8 *q)
{
    if (strlen(name) >= NAME_BYTES) return -1;
    if (c->n_all == c->cap_all) {
        int cap = c->cap_all ? 2 * c->cap_all : 64;
        matrix *grown = realloc(c->all, sizeof *grown * (size_t)cap);
        if (!grown) return -1;
        c->all = grown;
        c->cap_all = cap;
    }
    matrix *m = &c->all[c->n_all++];
    memset(m->name, 0, sizeof m->name);
    memcpy(m->name, name, strlen(name));
    m->q = q;
    return 0;
}

int qt_q8_cache_get(qt_q8_cache *c, const char *name, int rows, int cols, qt_q8 *q)
{
    for (uint32_t i = 0; c->map && i < c->n; i++) {
        const file_entry *e = &c->entries[i];
        if (strcmp(e->name, name) || e->rows != rows || e->cols != cols) continue;
        if (remember(c, name, q)) return -1; /* the save must be able to write it back */
        *q = (qt_q8){rows, cols, e->groups, c->map + e->q_off, (float *)(void *)(c->map + e->scale_off), 1};
        return 0;
    }
    return -1;
}

int qt_q8_cache_put(qt_q8_cache *c, const char *name, const qt_q8 *q)
{
    c->dirty = 1;
    if (remember(c, name, q) == 0) return 0;
    c->failed = 1;
    return -1;
}

static int write_all(int fd, const void *p, size_t n, XXH3_state_t *sum)
{
    if (sum) XXH3_64bits_update(sum, p, n);
    for (const char *b = p; n > 0;) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_padding(int fd, uint64_t n, XXH3_state_t *sum)
{
    static const uint8_t zeros[ALIGN];
    return n ? write_all(fd, zeros, (size_t)n, sum) : 0;
}

static int write_file(const qt_q8_cache *c, int fd, XXH3_state_t *sum)
{
    file_header h = {{0}, VERSION, QT_Q8_GROUP, c->src_size, c->src_mtime_ns, (uint32_t)c->n_all,
                     0,   0,       0,           {0}};
    memcpy(h.magic, MAGIC, 8);
    uint64_t off = sizeof h + (uint64_t)c->n_all * sizeof(file_entry);
    if (write_all(fd, &h, sizeof h, NULL)) return -1;
    XXH3_64bits_reset(sum);
    for (int i = 0; i < c->n_all; i++) { /* the entries, with the offsets the data below will have */
        const qt_q8 *q = c->all[i].q;
        file_entry e = {{0}, q->rows, q->cols, q->groups, 0, off, round_up(off + q_bytes(q))};
        memcpy(e.name, c->all[i].name, NAME_BYTES);
        off = round_up(e.scale_off + scale_bytes(q));
        if (write_all(fd, &e, sizeof e, sum)) return -1;
    }
    uint64_t at = sizeof h + (uint64_t)c->n_all * sizeof(file_entry);
    for (int i = 0; i < c->n_all; i++) {
        const qt_q8 *q = c->all[i].q;
        if (write_all(fd, q->w, q_bytes(q), sum) ||
            write_padding(fd, round_up(at + q_bytes(q)) - at - q_bytes(q), sum))
            return -1;
        at = round_up(at + q_bytes(q));
        if (write_all(fd, q->scale, scale_bytes(q), sum) ||
            write_padding(fd, round_up(at + scale_bytes(q)) - at - scale_bytes(q), sum))
            return -1;
        at = round_up(at + scale_bytes(q));
    }
    h.bytes = at;
    h.checksum = XXH3_64bits_digest(sum);
    return pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h ? 0 : -1;
}

int qt_q8_cache_save(qt_q8_cache *c)
{
    if (!c->dirty) return 0;
    c->state = "not written";
    if (c->failed) return -1;
    char tmp[sizeof c->path + 16];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", c->path);
    int fd = mkstemp(tmp);
    if (fd < 0) return -1;
    XXH3_state_t *sum = XXH3_createState();
    int rc = sum ? write_file(c, fd, sum) : -1;
    XXH3_freeState(sum);
    if (close(fd) != 0) rc = -1;
    if (rc == 0 && rename(tmp, c->path) == 0) {
        c->state = "written";
        return 0;
    }
    unlink(tmp);
    return -1;
}

const char *qt_q8_cache_state(const qt_q8_cache *c)
{
    return c->state;
}

void qt_q8_cache_free(qt_q8_cache *c)
{
    if (!c) return;
    if (c->map) munmap(c->map, c->map_bytes);
    free(c->all);
    free(c);
}
