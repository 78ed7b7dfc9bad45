/* audio_resample.c — sample-rate conversion with libsoxr at its very-high-quality setting.
 *
 * One-shot only: the whole signal in, the whole signal out. Single-threaded on purpose, so a server that
 * runs several jobs does not also get soxr's own threads.
 */
#include "audio/audio.h"

#include <math.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int audio_resample(const float *in, size_t n, int from_rate, int to_rate, float **out, size_t *n_out,
                   audio_error *err)
{
    audio_error local;
    if (!err) err = &local;
    *out = NULL;
    *n_out = 0;
    if (from_rate <= 0 || to_rate <= 0) {
        snprintf(err->msg, sizeof err->msg, "resample: invalid rates %d Hz -> %d Hz", from_rate, to_rate);
        return -1;
    }
    size_t olen = (size_t)llround((double)n * to_rate / from_rate);
    float *buf = malloc((olen ? olen : 1) * sizeof(float));
    if (!buf) {
        snprintf(err->msg, sizeof err->msg, "resample: out of memory for %zu samples", olen);
        return -1;
    }
    if (from_rate == to_rate || n == 0) {
        if (n) memcpy(buf, in, n * sizeof(float));
        *out = buf;
        *n_out = n;
        return 0;
    }
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
    soxr_runtime_spec_t rt = soxr_runtime_spec(1);
    size_t done = 0;
    soxr_error_t e = soxr_oneshot(from_rate, to_rate, 1, in, n, NULL, buf, olen, &done, &io, &q, &rt);
    if (e) {
        snprintf(err->msg, sizeof err->msg, "resample %d Hz -> %d Hz failed (%s)", from_rate, to_rate, e);
        free(buf);
        return -1;
    }
    /* soxr may deliver a sample short of the rounded length; pad with silence so lengths are predictable */
    for (size_t i = done; i < olen; i++)
        buf[i] = 0.0f;
    *out = buf;
    *n_out = olen;
    return 0;
}
