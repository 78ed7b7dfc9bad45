/* mel.h — the speaker encoder's log-mel front end (docs/engine.md §3.3): 24 kHz mono -> [T][128] log-mel.
 *
 * Fixed arguments, as the official mel_spectrogram is called: periodic Hann 1024, hop 256, reflect padding
 * of 384 on both sides with center=False, one-sided |STFT| as sqrt(re² + im² + 1e-9), 128 Slaney-scale mel
 * bands with Slaney area normalisation up to 12 kHz, natural log floored at 1e-5. Internal to the engine.
 * It does not resample: the caller hands it 24 kHz samples.
 */
#ifndef QT_MEL_H
#define QT_MEL_H

#include "engine/qt.h"

#include <stddef.h>

#define QT_MEL_N_FFT 1024
#define QT_MEL_HOP 256
#define QT_MEL_PAD ((QT_MEL_N_FFT - QT_MEL_HOP) / 2) /* 384 */
#define QT_MEL_BINS (QT_MEL_N_FFT / 2 + 1)           /* 513 */
#define QT_MEL_BANDS 128
#define QT_MEL_FMAX 12000.0

typedef struct qt_mel qt_mel; /* window, filterbank and FFT plan; read-only once made except scratch */

qt_mel *qt_mel_new(qt_error *err);
void qt_mel_free(qt_mel *m); /* NULL is fine */

/* The filterbank [QT_MEL_BANDS][QT_MEL_BINS] row-major (librosa.filters.mel(sr=24000, n_fft=1024,
 * n_mels=128, fmin=0, fmax=12000) with its Slaney defaults, computed in double, stored as float). */
const float *qt_mel_basis(const qt_mel *m);

/* librosa.filters.mel(sr, n_fft, n_mels=n_bands, fmin=0, fmax) with its Slaney scale and area
 * normalisation, computed in double, stored as float: basis [n_bands][n_fft/2+1] row-major. Whisper's
 * mel_filters.npz is this with sr 16000, n_fft 400, fmax 8000. */
void qt_mel_slaney_filters(float *basis, int n_bands, int n_fft, int sample_rate, double fmax);

/* Frames for n samples: floor(n / 256). */
size_t qt_mel_frames(size_t n_samples);

/* One frame of 1024 samples (not yet windowed) -> mag[513] = sqrt(re² + im² + 1e-9) of its windowed
 * real FFT. Exposed so the test can hold the FFT against a direct DFT. */
void qt_mel_magnitude(qt_mel *m, const float *frame, float *mag);

/* pcm [n] at 24 kHz -> out [qt_mel_frames(n)][QT_MEL_BANDS] (caller-allocated). The reflect padding needs
 * n > 384; shorter input, or a non-finite sample, is QT_ERR_INVALID. One call at a time per qt_mel. */
int qt_mel_compute(qt_mel *m, const float *pcm, size_t n, float *out, qt_error *err);

#endif
