/* audio_resample.c — sample-rate conversion at a predictable length: the engine's one converter (qt_resample:
 * libsoxr, very high quality, single-threaded), cut or padded with silence to round(n * to / from) samples.
 */
#include "audio/audio.h"
#include "engine/qt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
    size_t olen = (size_t)llround((double)n * to_rate / from_rate), done = 0;
    float *y = NULL;
    qt_error qerr = {0};
    if (qt_resample(in, n, from_rate, to_rate, &y, &done, &qerr) < 0) {
        snprintf(err->msg, sizeof err->msg, "%.200s", qerr.msg);
        err->out_of_memory = qerr.kind == QT_ERR_NOMEM;
        return -1;
    }
    if (done < olen) { /* soxr may deliver a sample short of the rounded length */
        float *grown = realloc(y, olen * sizeof *y);
        if (!grown) {
            free(y);
            snprintf(err->msg, sizeof err->msg, "resample: out of memory for %zu samples", olen);
            err->out_of_memory = 1;
            return -1;
        }
        y = grown;
        for (size_t i = done; i < olen; i++)
            y[i] = 0.0f;
    }
    *out = y;
    *n_out = olen;
    return 0;
}
