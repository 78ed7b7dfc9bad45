/* wh_softmax_avx2.c — softmax rows with AVX2 + FMA: the encoder's attention takes 1500 x 1500 exponentials
 * per head and layer, which libm's expf does one at a time.
 *
 * e^x for x <= 0 (x - max): x = k ln2 + r with |r| <= ln2/2 (Cody-Waite, the engine's ELU constants), e^r by
 * its Taylor series to r^7 (relative error < 1e-8), times 2^k from the exponent bits; below -87 the result
 * is 0-ish (e^-87). The sum is in float lanes, as the scalar version sums in float. */
#include "whisper/wh_ops.h"

#include <math.h>

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static inline __m256 exp8(__m256 x)
{
    __m256 v = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 k = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), v);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(1.9841269841e-4f), r, _mm256_set1_ps(1.3888888889e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3333333333e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1666666667e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666666667e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void wh_softmax_avx2(float *x, int n)
{
    int i = 0;
    __m256 m8 = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8)
        m8 = _mm256_max_ps(m8, _mm256_loadu_ps(x + i));
    float lanes[8], mx = -INFINITY;
    _mm256_storeu_ps(lanes, m8);
    for (int l = 0; l < 8; l++)
        if (lanes[l] > mx) mx = lanes[l];
    for (; i < n; i++)
        if (x[i] > mx) mx = x[i];
    __m256 vmx = _mm256_set1_ps(mx), s8 = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx));
        _mm256_storeu_ps(x + i, e);
        s8 = _mm256_add_ps(s8, e);
    }
    if (i < n) {
        float tmp[8];
        for (int l = 0; l < 8; l++)
            tmp[l] = i + l < n ? x[i + l] - mx : -INFINITY;
        __m256 e = exp8(_mm256_loadu_ps(tmp));
        _mm256_storeu_ps(tmp, e);
        for (int l = 0; i + l < n; l++)
            x[i + l] = tmp[l];
        for (int l = n - i; l < 8; l++)
            tmp[l] = 0;
        s8 = _mm256_add_ps(s8, _mm256_loadu_ps(tmp));
    }
    _mm256_storeu_ps(lanes, s8);
    float s = 0;
    for (int l = 0; l < 8; l++)
        s += lanes[l];
    __m256 inv = _mm256_set1_ps(1.0f / s);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; i++)
        x[i] *= 1.0f / s;
}
#else
void wh_softmax_avx2(float *x, int n)
{
    wh_softmax_scalar(x, n);
}
#endif
