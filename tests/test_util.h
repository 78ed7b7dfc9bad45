/* test_util.h — what the C tests share: the failure count and CHECK, the golden fixture directory, golden
 * tensors, reading a whole file, and the error between two vectors.
 *
 * Header-only (static functions), so each tests/test_*.c stays one program; include it once per test. A
 * helper never hides a failure: it counts one in `failures` or ends the test with exit(1).
 */
#ifndef VOICEBOX_TEST_UTIL_H
#define VOICEBOX_TEST_UTIL_H

#include "engine/qt.h"
#include "engine/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

/* On a false condition: "FAIL file:line: " and the message (printf arguments) on stderr, one more failure. */
#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                             \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
            failures++;                                                                                      \
        }                                                                                                    \
    } while (0)

/* $VOICEBOX_GOLDEN_DIR (CTest sets it), else the one CMake found when configuring; "" when there is none. */
static inline const char *golden_dir(void)
{
    const char *dir = getenv("VOICEBOX_GOLDEN_DIR");
    return dir && *dir ? dir : VOICEBOX_GOLDEN_DIR;
}

/* A golden tensor with this dtype and shape (st_expect's rules); a missing or misshapen one ends the test,
 * since every later check would read garbage. */
static inline const st_tensor *golden_tensor(const st_file *g, const char *name, st_dtype dtype, int n_dims,
                                             const int64_t *shape)
{
    qt_error err = {0};
    const st_tensor *t = st_expect(g, name, dtype, n_dims, shape, &err);
    if (!t) {
        fprintf(stderr, "FAIL golden: %s\n", err.msg);
        exit(1);
    }
    return t;
}

/* golden_tensor's data copied out of the mapping (which need not be aligned); the caller frees it. */
static inline void *golden_copy(const st_file *g, const char *name, st_dtype dtype, int n_dims,
                                const int64_t *shape)
{
    const st_tensor *t = golden_tensor(g, name, dtype, n_dims, shape);
    void *v = malloc(t->n_bytes);
    memcpy(v, t->data, t->n_bytes);
    return v;
}

/* The whole file with a NUL after its bytes (so text can be parsed as is), its length in *size; NULL and
 * *size 0 when it cannot be opened or read to the end. The caller frees it. */
/* An x-vector voice prompt of m's width and size (x-vector values (i % 3) - 1), for tests that need some
 * prompt rather than a particular one. NULL xvector when out of memory; free it after. */
static inline qt_voice_prompt test_xvector_prompt(const qt_model *m)
{
    qt_voice_prompt vp = {0};
    vp.mode = QT_PROMPT_XVECTOR;
    vp.width = qt_model_hidden(m);
    snprintf(vp.size, sizeof vp.size, "%s", qt_model_size(m));
    vp.xvector = calloc((size_t)vp.width, sizeof(float));
    for (int i = 0; vp.xvector && i < vp.width; i++)
        vp.xvector[i] = (i % 3) - 1.0f;
    return vp;
}

static inline void *read_file(const char *path, size_t *size)
{
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    *size = (size_t)n;
    return buf;
}

/* The largest |got[i] - exp[i]| (difference taken in double; a NaN on either side counts as infinite, so it
 * can never pass a tolerance) and, in *at when at is not NULL, the first index where it occurs. */
static inline double max_abs_error(const float *got, const float *exp, size_t n, size_t *at)
{
    double worst = 0;
    size_t where = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)exp[i]);
        if (e != e) e = INFINITY;
        if (e > worst) worst = e, where = i;
    }
    if (at) *at = where;
    return worst;
}

/* A measured error against its tolerance: printed either way (so drift shows while it still passes), one
 * more failure when over. */
static inline void check_tol(const char *what, double err, double tol)
{
    int ok = err <= tol;
    printf("  %-58s max_abs %.3g (tol %.3g) %s\n", what, err, tol, ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

/* Cosine similarity of got and exp (sums in double), with max_abs_error's figures in *max_abs and *at. */
static inline double cosine_max_abs(const float *got, const float *exp, size_t n, double *max_abs, size_t *at)
{
    double dot = 0, ng = 0, ne = 0;
    for (size_t i = 0; i < n; i++)
        dot += (double)got[i] * exp[i], ng += (double)got[i] * got[i], ne += (double)exp[i] * exp[i];
    *max_abs = max_abs_error(got, exp, n, at);
    return dot / sqrt(ng * ne);
}

#endif
