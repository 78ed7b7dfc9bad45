/* wh_mel.c — Whisper's log-mel front end, exactly as the official whisper/audio.py computes it on one window:
 * pad_or_trim to 30 s, |STFT|² (n_fft 400, hop 160, periodic Hann, centred with reflect padding, the last
 * frame dropped), the Slaney mel filters (mel_filters.npz is librosa's, recomputed here), log10 of at least
 * 1e-10, floored at max - 8, then (x + 4) / 4.
 *
 * The FFT is Debian's kissfft (float) and the filter product one sgemm. It takes 16 kHz samples; it never
 * resamples or reads files.
 */
#include "whisper/wh_internal.h"

#include <cblas.h>
#include <kiss_fftr.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAD (WH_N_FFT / 2) /* torch.stft(center=True) reflects 200 samples at each end */

/* Sample j of the reflect-padded window x[0..WH_WINDOW_SAMPLES) (the reflection skips the edge sample). */
static float padded_at(const float *x, long j)
{
    const long n = WH_WINDOW_SAMPLES;
    j -= PAD;
    if (j < 0) return x[-j];
    if (j >= n) return x[2 * (n - 1) - j];
    return x[j];
}

int wh_log_mel(const wh_model *m, const float *pcm, size_t n, float *mel, wh_error *err)
{
    if (n > WH_WINDOW_SAMPLES)
        return wh_fail(err, WH_ERR_INVALID, "log-mel: %zu samples are more than one 30 s window", n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pcm[i]))
            return wh_fail(err, WH_ERR_INVALID, "audio: sample %zu is not a finite number", i);
    float *x = calloc(WH_WINDOW_SAMPLES, sizeof *x);
    float *power = malloc((size_t)WH_N_FRAMES * WH_N_BINS * sizeof *power); /* [3000][201] */
    kiss_fftr_cfg fft = kiss_fftr_alloc(WH_N_FFT, 0, NULL, NULL);
    if (!x || !power || !fft) {
        free(x);
        free(power);
        kiss_fftr_free(fft);
        return wh_fail(err, WH_ERR_NOMEM, "out of memory for the log-mel spectrogram");
    }
    if (n) memcpy(x, pcm, n * sizeof *x);
    float window[WH_N_FFT], frame[WH_N_FFT];
    kiss_fft_cpx spec[WH_N_BINS];
    for (int i = 0; i < WH_N_FFT; i++)
        window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / WH_N_FFT));
    for (int t = 0; t < WH_N_FRAMES; t++) {
        long start = (long)t * WH_HOP;
        if (start >= PAD && start - PAD + WH_N_FFT <= WH_WINDOW_SAMPLES)
            for (int i = 0; i < WH_N_FFT; i++)
                frame[i] = x[start - PAD + i] * window[i];
        else
            for (int i = 0; i < WH_N_FFT; i++)
                frame[i] = padded_at(x, start + i) * window[i];
        kiss_fftr(fft, frame, spec);
        float *p = power + (size_t)t * WH_N_BINS;
        for (int k = 0; k < WH_N_BINS; k++)
            p[k] = spec[k].r * spec[k].r + spec[k].i * spec[k].i;
    }
    /* mel[n_mels][3000] = filters[n_mels][201] . power[3000][201]^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m->c.n_mels, WH_N_FRAMES, WH_N_BINS, 1.0f,
                m->filters, WH_N_BINS, power, WH_N_BINS, 0.0f, mel, WH_N_FRAMES);
    size_t total = (size_t)m->c.n_mels * WH_N_FRAMES;
    float mx = -INFINITY;
    for (size_t i = 0; i < total; i++) {
        mel[i] = log10f(mel[i] > 1e-10f ? mel[i] : 1e-10f);
        if (mel[i] > mx) mx = mel[i];
    }
    for (size_t i = 0; i < total; i++)
        mel[i] = ((mel[i] > mx - 8.0f ? mel[i] : mx - 8.0f) + 4.0f) / 4.0f;
    free(x);
    free(power);
    kiss_fftr_free(fft);
    return 0;
}
