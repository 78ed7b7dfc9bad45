/* q8_cache.h — the int8 weights kept between runs, so a model loaded with precision int8 maps them from a
 * file instead of quantizing the release's bf16 matrices again (qt_load_params.cache_dir).
 *
 * One file per model, <dir>/<hash of the model file's real path>.q8:
 *   header   64 bytes: magic "VBQ8\r\n\x1a\n", format version, QT_Q8_GROUP, the model file's size and mtime,
 *            the number of matrices, the file's size, XXH3-64 of everything after the header
 *   entries  128 bytes each: tensor name (NUL-padded, 96), rows, cols, groups, offsets of q and of the scales
 *   data     each matrix's q then its scales, 64-byte aligned (the kernels' aligned loads)
 * A file whose version, group, model size or mtime differ, that is cut short or fails its checksum is treated
 * as absent: the matrices are quantized and the file written again (temp file, then rename). The cache is
 * optional: failing to write it is not an error. Matrices taken from it point into its read-only mapping,
 * which lives as long as the cache object.
 */
#ifndef QT_Q8_CACHE_H
#define QT_Q8_CACHE_H

#include "engine/quant.h"

typedef struct qt_q8_cache qt_q8_cache;

/* The cache of `model_path` (its model.safetensors) in dir, which the caller makes: mapped and checked when
 * the file is whole, else empty, collecting for qt_q8_cache_save. NULL when out of memory or when the model
 * file cannot be stat'ed.
 */
qt_q8_cache *qt_q8_cache_open(const char *dir, const char *model_path);
/* q = the cached matrix `name` (rows x cols), pointing into the mapping (q->borrowed); -1 when the file held
 * no such matrix of that shape. */
int qt_q8_cache_get(qt_q8_cache *c, const char *name, int rows, int cols, qt_q8 *q);
/* Remembers a freshly quantized matrix for the save (q stays its owner's and must outlive the save). -1 when
 * out of memory or the name is too long (that matrix is then not saved and the cache stays as it was). */
int qt_q8_cache_put(qt_q8_cache *c, const char *name, const qt_q8 *q);
/* Writes the file when matrices were put (and none failed): 0, or -1 (nothing is left behind). */
int qt_q8_cache_save(qt_q8_cache *c);
/* "hit" (weights from the file), "written" (quantized, file saved), "not written" (quantized, the save
 * failed) or "empty" (nothing put yet) — for the bench and the logs. */
const char *qt_q8_cache_state(const qt_q8_cache *c);
void qt_q8_cache_free(qt_q8_cache *c); /* after every matrix borrowed from it is gone; NULL is fine */

#endif
