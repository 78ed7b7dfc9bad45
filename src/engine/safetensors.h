/* safetensors.h — read-only access to .safetensors files (single or sharded), mmap'd, validated.
 *
 * Every offset and size in a header is checked against the file before any tensor is handed out, so a
 * truncated or malformed file is an error naming the file and the fault, never an out-of-bounds read.
 * Tensor data stays in the mapping (no copies); pointers are valid until st_close().
 */
#ifndef QT_SAFETENSORS_H
#define QT_SAFETENSORS_H

#include "engine/qt.h"

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef enum { ST_F32, ST_F16, ST_BF16, ST_I64 } st_dtype;

typedef struct {
    const char *name;
    st_dtype dtype;
    int n_dims;
    int64_t shape[ST_MAX_DIMS];
    int64_t n_elements;
    size_t n_bytes;
    const void *data; /* inside the mapping; 8-byte alignment is NOT guaranteed by the format */
} st_tensor;

typedef struct st_file st_file; /* one or more mapped files seen as one tensor set */

/* path: a .safetensors file, a model.safetensors.index.json, or a directory holding either. */
st_file *st_open(const char *path, qt_error *err);
void st_close(st_file *f); /* NULL is fine */

const st_tensor *st_find(const st_file *f, const char *name); /* NULL when absent */
size_t st_count(const st_file *f);
const st_tensor *st_at(const st_file *f, size_t i);
const char *st_dtype_name(st_dtype t);
size_t st_dtype_size(st_dtype t);

/* Validates and parses the header of an in-memory file image (what st_open does after mmap);
 * `label` names the file in error messages. Exposed for the fuzz target and tests. */
st_file *st_parse(const char *label, const uint8_t *bytes, size_t size, qt_error *err);

/* Looks up `name` and checks its dtype and shape (n_dims entries of `shape`; -1 matches any extent).
 * The error names the tensor, what was expected and what the file has. */
const st_tensor *st_expect(const st_file *f, const char *name, st_dtype dtype, int n_dims,
                           const int64_t *shape, qt_error *err);

/* Gives the pages wholly inside tensor t back to the OS (madvise DONTNEED) once its data has been copied
 * elsewhere (the int8 weights): they leave the resident set. Reading t afterwards is still valid (the pages
 * come back from the file). Does nothing for st_parse'd images. */
void st_release(const st_file *f, const st_tensor *t);

/* Maps tensor t's pages into the process now (madvise POPULATE_READ), in one call instead of a page fault per
 * few pages on first use: for the weights every decode step reads. Best effort (older kernels: nothing). */
void st_prefault(const st_file *f, const st_tensor *t);

#endif
