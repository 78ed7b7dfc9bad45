/* resample.c — the one sample-rate converter (qt.h): libsoxr at its very-high-quality setting, mono float,
 * one shot. Single-threaded on purpose, so a server running several jobs does not also get soxr's threads.
 * The engine uses it for references and codec input at any rate; the audio layer builds its fixed-length
 * resampling on it.
 */
#include "engine/qt.h"

#include <soxr.h>
#include <stdlib.h>
#include <string.h>

/* soxr may deliver a few samples more than n * to / from while it flushes its filter */
#define RESAMPLE_SLACK 64

int qt_resample(const float *in, size_t n, int from_rate, int to_rate, float **out, size_t *n_out,
                qt_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (from_rate <= 0 || to_rate <= 0)
        return qt_fail(err, QT_ERR_INVALID, "resample: invalid rates %d Hz -> %d Hz", from_rate, to_rate);
    size_t cap = (size_t)((double)n * to_rate / from_rate) + RESAMPLE_SLACK, done = 0;
    if (from_rate == to_rate) cap = n ? n : 1;
    float *y = malloc(cap * sizeof *y);
    if (!y) return qt_fail(err, QT_ERR_NOMEM, "resample: out of memory for %zu samples", cap);
    if (from_rate == to_rate || n == 0) {
        if (n) memcpy(y, in, n * sizeof *y);
        *out = y, *n_out = n;
        return 0;
    }
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
    soxr_runtime_spec_t rt = soxr_runtime_spec(1);
    soxr_error_t se = soxr_oneshot(from_rate, to_rate, 1, in, n, NULL, y, cap, &done, &io, &q, &rt);
    if (se) {
        free(y);
        return qt_fail(err, QT_ERR_INVALID, "resampling from %d Hz to %d Hz failed: %s", from_rate, to_rate,
                       se);
    }
    *out = y, *n_out = done;
    return 0;
}
