/* mel.c — log-mel features for the speaker encoder (docs/engine.md §3.3, §10.8).
 *
 * The real FFT is Debian's kissfft (float); the filterbank follows librosa's Slaney code in double and is
 * stored as float, as librosa returns it. The mel projection of all frames is one sgemm. Must not resample
 * or read files; must not depend on the speaker encoder.
 */
#include "engine/mel.h"

#include <cblas.h>
#include <kiss_fftr.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct qt_mel {
    float window[QT_MEL_N_FFT];              /* periodic Hann: 0.5 - 0.5 cos(2 pi n / N) */
    float basis[QT_MEL_BANDS * QT_MEL_BINS]; /* [128][513] */
    kiss_fftr_cfg fft;
    float frame[QT_MEL_N_FFT];      /* scratch: windowed frame */
    kiss_fft_cpx spec[QT_MEL_BINS]; /* scratch: its spectrum */
};

/* Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above (ln(6.4)/27 per mel). */
static const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = 1000.0 / (200.0 / 3.0);

static double hz_to_mel(double hz)
{
    double logstep = log(6.4) / 27.0;
    return hz >= min_log_hz ? min_log_mel + log(hz / min_log_hz) / logstep : hz / f_sp;
}

static double mel_to_hz(double mel)
{
    double logstep = log(6.4) / 27.0;
    return mel >= min_log_mel ? min_log_hz * exp(logstep * (mel - min_log_mel)) : f_sp * mel;
}

/* librosa.filters.mel: triangles between consecutive mel points evaluated at the FFT bin centres, each
 * scaled by 2 / (right edge - left edge) so every band has the same area. */
void qt_mel_slaney_filters(float *basis, int n_bands, int n_fft, int sample_rate, double fmax)
{
    int n_bins = n_fft / 2 + 1;
    double lo = hz_to_mel(0.0), hi = hz_to_mel(fmax);
    for (int b = 0; b < n_bands; b++) {
        double left = mel_to_hz(lo + (hi - lo) * b / (n_bands + 1));
        double centre = mel_to_hz(lo + (hi - lo) * (b + 1) / (n_bands + 1));
        double right = mel_to_hz(lo + (hi - lo) * (b + 2) / (n_bands + 1));
        double enorm = 2.0 / (right - left);
        for (int k = 0; k < n_bins; k++) {
            double f = (double)k * sample_rate / n_fft;
            double rise = (f - left) / (centre - left), fall = (right - f) / (right - centre);
            double w = rise < fall ? rise : fall;
            basis[b * n_bins + k] = (float)(w > 0 ? w * enorm : 0.0);
        }
    }
}

qt_mel *qt_mel_new(qt_error *err)
{
    qt_mel *m = calloc(1, sizeof *m);
    if (!m || !(m->fft = kiss_fftr_alloc(QT_MEL_N_FFT, 0, NULL, NULL))) {
        free(m);
        qt_fail(err, QT_ERR_NOMEM, "out of memory making the mel front end");
        return NULL;
    }
    for (int i = 0; i < QT_MEL_N_FFT; i++)
        m->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / QT_MEL_N_FFT));
    qt_mel_slaney_filters(m->basis, QT_MEL_BANDS, QT_MEL_N_FFT, QT_SAMPLE_RATE, QT_MEL_FMAX);
    return m;
}

void qt_mel_free(qt_mel *m)
{
    if (!m) return;
    kiss_fftr_free(m->fft);
    free(m);
}

const float *qt_mel_basis(const qt_mel *m)
{
    return m->basis;
}

size_t qt_mel_frames(size_t n_samples)
{
    return n_samples / QT_MEL_HOP;
}

void qt_mel_magnitude(qt_mel *m, const float *frame, float *mag)
{
    for (int i = 0; i < QT_MEL_N_FFT; i++)
        m->frame[i] = frame[i] * m->window[i];
    kiss_fftr(m->fft, m->frame, m->spec);
    for (int k = 0; k < QT_MEL_BINS; k++)
        mag[k] = sqrtf(m->spec[k].r * m->spec[k].r + m->spec[k].i * m->spec[k].i + 1e-9f);
}

/* Sample j of the reflect-padded signal (the reflection excludes the edge sample, as torch's "reflect"). */
static float padded_at(const float *x, size_t n, size_t j)
{
    if (j < QT_MEL_PAD) return x[QT_MEL_PAD - j];
    j -= QT_MEL_PAD;
    return j < n ? x[j] : x[2 * (n - 1) - j];
}

int qt_mel_compute(qt_mel *m, const float *pcm, size_t n, float *out, qt_error *err)
{
    if (n <= QT_MEL_PAD)
        return qt_fail(err, QT_ERR_INVALID, "mel: %zu samples are too few (more than %d are needed)", n,
                       QT_MEL_PAD);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pcm[i]))
            return qt_fail(err, QT_ERR_INVALID, "mel: sample %zu is not a finite number", i);
    size_t T = qt_mel_frames(n);
    float *mag = malloc(sizeof(float) * T * QT_MEL_BINS); /* [T][513] */
    if (!mag) return qt_fail(err, QT_ERR_NOMEM, "out of memory for the mel spectrum of %zu frames", T);
    float frame[QT_MEL_N_FFT];
    for (size_t t = 0; t < T; t++) {
        size_t start = t * QT_MEL_HOP;
        if (start >= QT_MEL_PAD && start - QT_MEL_PAD + QT_MEL_N_FFT <= n)
            memcpy(frame, pcm + start - QT_MEL_PAD, sizeof frame);
        else
            for (int i = 0; i < QT_MEL_N_FFT; i++)
                frame[i] = padded_at(pcm, n, start + (size_t)i);
        qt_mel_magnitude(m, frame, mag + t * QT_MEL_BINS);
    }
    /* out[T][128] = mag[T][513] · basis[128][513]^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, QT_MEL_BANDS, QT_MEL_BINS, 1.0f, mag,
                QT_MEL_BINS, m->basis, QT_MEL_BINS, 0.0f, out, QT_MEL_BANDS);
    free(mag);
    for (size_t i = 0; i < T * QT_MEL_BANDS; i++)
        out[i] = logf(out[i] > 1e-5f ? out[i] : 1e-5f);
    return 0;
}
