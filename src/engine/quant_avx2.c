/* quant_avx2.c — the int8 matrix kernel on AVX2 (compiled with -mavx2 -mfma, called only when the CPU has
 * them). Bit-identical to qt_matmul_q8_scalar (quant.h says why that is possible).
 *
 * AVX2 has no vpdpbusd: pmaddubsw multiplies unsigned by signed bytes into saturating 16-bit pairs, so the
 * weights go in as |q| (<= 127) and the activations take the weights' sign; a pair then stays below 2^15.
 */
#include "engine/quant.h"

#include <immintrin.h>

/* The 8 lane sums of 32 bytes: lane l = sum of w[4l+i] * x[4l+i] (w stored as q + 128). */
static inline __m256i lanes8(const uint8_t *wu, const int8_t *x, __m256i ones16)
{
    __m256i w = _mm256_xor_si256(_mm256_load_si256((const __m256i *)wu), _mm256_set1_epi8((char)0x80));
    __m256i xv = _mm256_load_si256((const __m256i *)x);
    __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xv, w));
    return _mm256_madd_epi16(p16, ones16);
}

/* Each row also fetches the row AHEAD rows on (the hardware prefetcher alone kept too few reads in flight:
 * talker + code predictor at 1.48x the time to read their bytes, 1.02x with this). */
#define AHEAD 8

void qt_matmul_q8_avx2(float *y, int ldy, const qt_q8 *w, const qt_q8_act *a, int r0, int r1)
{
    size_t width = (size_t)w->groups * QT_Q8_GROUP;
    __m256i ones16 = _mm256_set1_epi16(1);
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = w->w + (size_t)r * width;
        const float *ws = w->scale + (size_t)r * w->groups;
        const uint8_t *ahead = r + AHEAD < r1 ? row + AHEAD * width : NULL;
        for (int l = 0; l < a->n; l++) {
            const int8_t *x = a->q + (size_t)l * width;
            const float *xs = a->scale + (size_t)l * w->groups * QT_Q8_LANES;
            __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
            for (int g = 0; g < w->groups; g++) {
                size_t b = (size_t)g * QT_Q8_GROUP;
                if (ahead && l == 0) _mm_prefetch((const char *)(ahead + b), _MM_HINT_T0);
                __m256 s = _mm256_set1_ps(ws[g]);
                __m256 slo = _mm256_mul_ps(s, _mm256_load_ps(xs + (size_t)g * QT_Q8_LANES));
                __m256 shi = _mm256_mul_ps(s, _mm256_load_ps(xs + (size_t)g * QT_Q8_LANES + 8));
                lo = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes8(row + b, x + b, ones16)), slo, lo);
                hi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes8(row + b + 32, x + b + 32, ones16)), shi, hi);
            }
            float acc[16];
            _mm256_storeu_ps(acc, lo);
            _mm256_storeu_ps(acc + 8, hi);
            y[(size_t)l * ldy + r] = qt_q8_reduce16(acc);
        }
    }
}
