/* audio_level.c — loudness measures and the edits built on them: RMS, peak, silence trimming, normalising.
 * Pure arithmetic on mono float buffers; no allocation, no I/O. */
#include "audio/audio.h"

#include <math.h>

float audio_rms(const float *s, size_t n)
{
    if (n == 0) return 0.0f;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)s[i] * s[i];
    return (float)sqrt(sum / (double)n);
}

float audio_peak(const float *s, size_t n)
{
    float peak = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(s[i]);
        if (a > peak) peak = a;
    }
    return peak;
}

/* 10 ms windows: short enough to keep word onsets, long enough that one zero crossing is not "silence". */
void audio_trim_silence(const float *s, size_t n, int sample_rate, float threshold, size_t *start,
                        size_t *end)
{
    size_t win = sample_rate > 100 ? (size_t)sample_rate / 100 : 1;
    size_t a = 0, b = n;
    while (a < n) {
        size_t len = n - a < win ? n - a : win;
        if (audio_rms(s + a, len) >= threshold) break;
        a += len;
    }
    if (a >= n) {
        *start = *end = 0;
        return;
    }
    while (b > a) {
        size_t len = b - a < win ? b - a : win;
        if (audio_rms(s + b - len, len) >= threshold) break;
        b -= len;
    }
    *start = a;
    *end = b;
}

float audio_normalize(float *s, size_t n, float target_rms, float peak_limit)
{
    float rms = audio_rms(s, n), peak = audio_peak(s, n);
    if (rms <= 0.0f || target_rms <= 0.0f) return 1.0f;
    float gain = target_rms / rms;
    if (peak_limit > 0.0f && peak * gain > peak_limit) gain = peak_limit / peak;
    for (size_t i = 0; i < n; i++)
        s[i] *= gain;
    return gain;
}
