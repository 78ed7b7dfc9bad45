/* safetensors.c — mmap'd, validated .safetensors files, single or sharded (model.safetensors.index.json).
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, ...,
 * "__metadata__": {...}}, then the data; offsets are relative to the first data byte. Every offset, size and
 * shape is checked against the file before a tensor is handed out, so nothing a file says can make us read
 * outside the mapping. This file must not copy tensor data or convert dtypes: callers read it in place.
 */
#include "engine/safetensors.h"
#include "engine/json_error.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference implementation refuses headers above 100 MB; a real model's is well under 1 MB. */
#define ST_MAX_HEADER 100000000ull

typedef struct {
    char *label; /* the path (or caller's label), for messages */
    void *map;   /* NULL for st_parse'd images the caller owns */
    size_t map_size;
} st_source;

typedef struct {
    st_tensor t; /* first, so a const st_tensor * handed out converts back */
    int source;  /* index into st_file.sources */
} st_entry;

struct st_file {
    st_entry *e; /* sorted by name once complete */
    size_t n, cap;
    st_source *sources;
    size_t n_sources;
};

static const struct {
    const char *name;
    st_dtype type;
    size_t size;
} dtypes[] = {{"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"I64", ST_I64, 8}};

const char *st_dtype_name(st_dtype t)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].type == t) return dtypes[i].name;
    return "?";
}

size_t st_dtype_size(st_dtype t)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].type == t) return dtypes[i].size;
    return 0;
}

void st_close(st_file *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++)
        free((char *)f->e[i].t.name);
    free(f->e);
    for (size_t i = 0; i < f->n_sources; i++) {
        free(f->sources[i].label);
        if (f->sources[i].map) munmap(f->sources[i].map, f->sources[i].map_size);
    }
    free(f->sources);
    free(f);
}

static int add_source(st_file *f, const char *label, void *map, size_t map_size, qt_error *err)
{
    st_source *s = realloc(f->sources, (f->n_sources + 1) * sizeof *s);
    if (!s) return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory", label);
    f->sources = s;
    s[f->n_sources].label = strdup(label);
    s[f->n_sources].map = map;
    s[f->n_sources].map_size = map_size;
    if (!s[f->n_sources].label) return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory", label);
    f->n_sources++;
    return 0;
}

static void shape_str(char *buf, size_t size, int n_dims, const int64_t *shape)
{
    size_t at = 0;
    at += (size_t)snprintf(buf + at, size - at, "[");
    for (int i = 0; i < n_dims && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (at < size) snprintf(buf + at, size - at, "]");
}

/* Order by data offset, for the overlap check. */
typedef struct {
    uint64_t begin, end;
    const char *name;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const st_entry *)a)->t.name, ((const st_entry *)b)->t.name);
}

/* Reads one header entry into *t (name not yet set). Returns 0 or fills err. */
static int parse_entry(const char *label, const char *name, json_t *v, uint64_t data_size, st_tensor *t,
                       uint64_t *begin, uint64_t *end, qt_error *err)
{
    if (!json_is_object(v))
        return qt_fail(err, QT_ERR_CORRUPT, "%s: header entry '%s' is not an object", label, name);
    json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"),
           *off = json_object_get(v, "data_offsets");
    if (!json_is_string(dt))
        return qt_fail(err, QT_ERR_CORRUPT, "%s: tensor '%s' has no dtype string", label, name);
    size_t dsize = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(json_string_value(dt), dtypes[i].name)) {
            t->dtype = dtypes[i].type;
            dsize = dtypes[i].size;
        }
    if (!dsize)
        return qt_fail(err, QT_ERR_CORRUPT,
                       "%s: tensor '%s' has unknown dtype '%.32s' (voicebox reads F32, F16, "
                       "BF16, I64)",
                       label, name, json_string_value(dt));
    if (!json_is_array(sh))
        return qt_fail(err, QT_ERR_CORRUPT, "%s: tensor '%s' has no shape array", label, name);
    if (json_array_size(sh) > ST_MAX_DIMS)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: tensor '%s' has %zu dimensions, more than %d", label, name,
                       json_array_size(sh), ST_MAX_DIMS);
    t->n_dims = (int)json_array_size(sh);
    uint64_t count = 1;
    int overflow = 0;
    for (int i = 0; i < t->n_dims; i++) {
        json_t *d = json_array_get(sh, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return qt_fail(err, QT_ERR_CORRUPT,
                           "%s: tensor '%s' has a shape entry that is not a non-negative "
                           "integer",
                           label, name);
        t->shape[i] = json_integer_value(d);
        if (t->shape[i] && count > UINT64_MAX / 16 / (uint64_t)t->shape[i]) overflow = 1;
        count *= (uint64_t)t->shape[i];
    }
    if (overflow || count > (uint64_t)INT64_MAX / 16)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: tensor '%s' has a shape too large to exist", label, name);
    if (!json_is_array(off) || json_array_size(off) != 2 || !json_is_integer(json_array_get(off, 0)) ||
        !json_is_integer(json_array_get(off, 1)))
        return qt_fail(err, QT_ERR_CORRUPT, "%s: tensor '%s' has no data_offsets [begin, end]", label, name);
    json_int_t b = json_integer_value(json_array_get(off, 0)), e = json_integer_value(json_array_get(off, 1));
    if (b < 0 || e < b)
        return qt_fail(err, QT_ERR_CORRUPT,
                       "%s: tensor '%s' has data_offsets [%lld, %lld] that are not an "
                       "ascending pair of non-negative numbers",
                       label, name, (long long)b, (long long)e);
    uint64_t need = count * dsize;
    if ((uint64_t)(e - b) != need) {
        char s[160];
        shape_str(s, sizeof s, t->n_dims, t->shape);
        return qt_fail(err, QT_ERR_CORRUPT,
                       "%s: tensor '%s' is %s %s, which needs %llu bytes, but its "
                       "data_offsets span %llu",
                       label, name, json_string_value(dt), s, (unsigned long long)need,
                       (unsigned long long)(e - b));
    }
    if ((uint64_t)e > data_size)
        return qt_fail(err, QT_ERR_CORRUPT,
                       "%s: tensor '%s' ends at data byte %llu but the file has only %llu "
                       "data bytes (truncated?)",
                       label, name, (unsigned long long)e, (unsigned long long)data_size);
    t->n_elements = (int64_t)count;
    t->n_bytes = (size_t)need;
    *begin = (uint64_t)b;
    *end = (uint64_t)e;
    return 0;
}

/* Parses one file image and appends its tensors to f (tagged with source index `src`). */
static int parse_into(st_file *f, int src, const char *label, const uint8_t *bytes, size_t size,
                      qt_error *err)
{
    if (size < 8)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: %zu bytes is too short for a safetensors file (truncated?)",
                       label, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | bytes[i];
    if (hlen > ST_MAX_HEADER)
        return qt_fail(err, QT_ERR_CORRUPT,
                       "%s: header length %llu exceeds the %llu-byte limit (not a "
                       "safetensors file?)",
                       label, (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > size - 8)
        return qt_fail(err, QT_ERR_CORRUPT,
                       "%s: header length %llu runs past the end of the %zu-byte file "
                       "(truncated?)",
                       label, (unsigned long long)hlen, size);
    if (hlen < 2 || bytes[8] != '{')
        return qt_fail(err, QT_ERR_CORRUPT, "%s: header is not a JSON object (not a safetensors file?)",
                       label);

    json_error_t je;
    json_t *root = json_loadb((const char *)bytes + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root && json_error_code(&je) == json_error_out_of_memory)
        return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory reading the header", label);
    if (!root)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: header is not valid JSON (byte %d: %s)", label, je.position,
                       je.text);
    int rc = -1;
    span *spans = NULL;
    size_t n_spans = 0;
    if (!json_is_object(root)) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: header is not a JSON object", label);
        goto fail;
    }
    size_t n_new = json_object_size(root);
    if (f->n + n_new > f->cap) {
        size_t cap = f->n + n_new;
        st_entry *e = realloc(f->e, cap * sizeof *e);
        if (!e) {
            qt_fail(err, QT_ERR_NOMEM, "%s: out of memory for %zu tensors", label, cap);
            goto fail;
        }
        f->e = e;
        f->cap = cap;
    }
    spans = malloc((n_new ? n_new : 1) * sizeof *spans);
    if (!spans) {
        qt_fail(err, QT_ERR_NOMEM, "%s: out of memory", label);
        goto fail;
    }
    const uint8_t *data = bytes + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v)
    {
        if (!strcmp(name, "__metadata__")) continue;
        st_tensor t = {0};
        uint64_t b = 0, e = 0;
        if (parse_entry(label, name, v, data_size, &t, &b, &e, err)) goto fail;
        t.data = data + b;
        t.name = strdup(name);
        if (!t.name) {
            qt_fail(err, QT_ERR_NOMEM, "%s: out of memory", label);
            goto fail;
        }
        f->e[f->n++] = (st_entry){t, src};
        spans[n_spans++] = (span){b, e, t.name};
    }
    /* Overlap check: sorted by start, each tensor must begin at or after the previous one's end. Empty
     * tensors occupy nothing and may sit anywhere. */
    qsort(spans, n_spans, sizeof *spans, span_cmp);
    uint64_t prev_begin = 0, prev_end = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < n_spans; i++) {
        if (spans[i].begin == spans[i].end) continue;
        if (prev && spans[i].begin < prev_end) {
            qt_fail(err, QT_ERR_CORRUPT,
                    "%s: tensors '%s' and '%s' overlap (data bytes %llu..%llu and %llu..%llu)", label, prev,
                    spans[i].name, (unsigned long long)prev_begin, (unsigned long long)prev_end,
                    (unsigned long long)spans[i].begin, (unsigned long long)spans[i].end);
            goto fail;
        }
        prev_begin = spans[i].begin;
        prev_end = spans[i].end;
        prev = spans[i].name;
    }
    rc = 0;
fail:
    free(spans);
    json_decref(root);
    return rc;
}

/* Sorts by name and rejects a name that appears twice (possible across shards). */
static int finish(st_file *f, qt_error *err)
{
    if (f->n) qsort(f->e, f->n, sizeof *f->e, entry_cmp);
    for (size_t i = 1; i < f->n; i++)
        if (!strcmp(f->e[i].t.name, f->e[i - 1].t.name))
            return qt_fail(err, QT_ERR_CORRUPT, "%s: tensor '%s' appears in two shards (also in %s)",
                           f->sources[f->e[i].source].label, f->e[i].t.name,
                           f->sources[f->e[i - 1].source].label);
    return 0;
}

st_file *st_parse(const char *label, const uint8_t *bytes, size_t size, qt_error *err)
{
    st_file *f = calloc(1, sizeof *f);
    if (!f) {
        qt_fail(err, QT_ERR_NOMEM, "%s: out of memory", label);
        return NULL;
    }
    if (add_source(f, label, NULL, 0, err) || parse_into(f, 0, label, bytes, size, err) || finish(f, err)) {
        st_close(f);
        return NULL;
    }
    return f;
}

/* mmaps `path` and parses it into f as a new source. */
static int open_one(st_file *f, const char *path, qt_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qt_fail(err, errno == ENOENT ? QT_ERR_NOT_FOUND : QT_ERR_IO, "%s: cannot open (%s)", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return qt_fail(err, QT_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return qt_fail(err, QT_ERR_IO, "%s: cannot map %zu bytes (%s)", path, size, strerror(e));
        }
    }
    close(fd);
    if (add_source(f, path, map, size, err)) {
        if (map) munmap(map, size);
        return -1;
    }
    static const uint8_t empty[1] = {0};
    return parse_into(f, (int)f->n_sources - 1, path, map ? map : empty, size, err);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* index.json: {"weight_map": {tensor: shard file}}; each shard once, every listed tensor must be found there.
 */
static int open_index(st_file *f, const char *path, qt_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (access(path, F_OK) != 0)
            return qt_fail(err, QT_ERR_NOT_FOUND, "%s: cannot open (%s)", path, strerror(errno));
        return qt_json_fail(err, path, &je);
    }
    int rc = -1;
    char dir[4096], shard[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = 0;
    else
        dir[0] = 0;
    json_t *map = json_object_get(root, "weight_map");
    if (!json_is_object(map) || json_object_size(map) == 0) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: no 'weight_map' object", path);
        goto fail;
    }
    const char *name;
    json_t *v;
    json_object_foreach(map, name, v)
    {
        if (!json_is_string(v) || strchr(json_string_value(v), '/') || !strcmp(json_string_value(v), "..")) {
            qt_fail(err, QT_ERR_CORRUPT,
                    "%s: tensor '%s' maps to something that is not a file name beside the "
                    "index",
                    path, name);
            goto fail;
        }
        if ((size_t)snprintf(shard, sizeof shard, "%s%s", dir, json_string_value(v)) >= sizeof shard) {
            qt_fail(err, QT_ERR_INVALID, "%s: shard path too long", path);
            goto fail;
        }
        int seen = 0;
        for (size_t s = 0; s < f->n_sources; s++)
            seen |= !strcmp(f->sources[s].label, shard);
        if (!seen && open_one(f, shard, err)) goto fail;
    }
    if (finish(f, err)) goto fail;
    json_object_foreach(map, name, v)
    {
        const st_tensor *t = st_find(f, name);
        char want[4096];
        snprintf(want, sizeof want, "%s%s", dir, json_string_value(v));
        if (!t || strcmp(f->sources[((const st_entry *)t)->source].label, want)) {
            qt_fail(err, QT_ERR_CORRUPT, "%s: tensor '%s' is listed in %s but that file does not hold it",
                    path, name, json_string_value(v));
            goto fail;
        }
    }
    rc = 0;
fail:
    json_decref(root);
    return rc;
}

st_file *st_open(const char *path, qt_error *err)
{
    st_file *f = calloc(1, sizeof *f);
    if (!f) {
        qt_fail(err, QT_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    char buf[4096];
    struct stat st;
    int rc;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(buf, sizeof buf, "%s/model.safetensors.index.json", path);
        if (access(buf, F_OK) == 0) {
            rc = open_index(f, buf, err);
        } else {
            snprintf(buf, sizeof buf, "%s/model.safetensors", path);
            if (access(buf, F_OK) != 0) {
                qt_fail(err, QT_ERR_NOT_FOUND,
                        "%s: no model.safetensors or model.safetensors.index.json in "
                        "this directory",
                        path);
                rc = -1;
            } else {
                rc = open_one(f, buf, err) || finish(f, err) ? -1 : 0;
            }
        }
    } else if (ends_with(path, ".index.json")) {
        rc = open_index(f, path, err);
    } else {
        rc = open_one(f, path, err) || finish(f, err) ? -1 : 0;
    }
    if (rc) {
        st_close(f);
        return NULL;
    }
    return f;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->e[mid].t.name, name);
        if (c == 0) return &f->e[mid].t;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t st_count(const st_file *f)
{
    return f ? f->n : 0;
}

const st_tensor *st_at(const st_file *f, size_t i)
{
    return f && i < f->n ? &f->e[i].t : NULL;
}

const st_tensor *st_expect(const st_file *f, const char *name, st_dtype dtype, int n_dims,
                           const int64_t *shape, qt_error *err)
{
    const char *label = f && f->n_sources ? f->sources[0].label : "safetensors";
    const st_tensor *t = st_find(f, name);
    if (!t) {
        qt_fail(err, QT_ERR_NOT_FOUND, "%s: tensor '%s' is missing", label, name);
        return NULL;
    }
    label = f->sources[((const st_entry *)t)->source].label;
    int ok = t->dtype == dtype && t->n_dims == n_dims;
    for (int i = 0; ok && i < n_dims; i++)
        ok = shape[i] < 0 || shape[i] == t->shape[i];
    if (!ok) {
        char want[160], got[160];
        shape_str(want, sizeof want, n_dims, shape);
        shape_str(got, sizeof got, t->n_dims, t->shape);
        qt_fail(err, QT_ERR_MISMATCH, "%s: tensor '%s' is %s %s, expected %s %s", label, name,
                st_dtype_name(t->dtype), got, st_dtype_name(dtype), want);
        return NULL;
    }
    return t;
}

void st_release(const st_file *f, const st_tensor *t)
{
    const st_entry *e = (const st_entry *)t;
    if (!f || !t || e->source < 0 || (size_t)e->source >= f->n_sources || !f->sources[e->source].map) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)t->data + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t hi = ((uintptr_t)t->data + t->n_bytes) & ~(uintptr_t)(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void st_prefault(const st_file *f, const st_tensor *t)
{
#ifdef MADV_POPULATE_READ
    const st_entry *e = (const st_entry *)t;
    if (!f || !t || e->source < 0 || (size_t)e->source >= f->n_sources || !f->sources[e->source].map) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)t->data & ~(uintptr_t)(page - 1);
    uintptr_t hi = ((uintptr_t)t->data + t->n_bytes + page - 1) & ~(uintptr_t)(page - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_POPULATE_READ);
#else
    (void)f;
    (void)t;
#endif
}
