/* codec_elu_avx2.c — ELU with AVX2 + FMA, the math of qt_elu_row_scalar eight lanes at a time. */
#include "engine/codec_elu.h"

#if defined(__x86_64__) && defined(__AVX2__)
#include <immintrin.h>

static inline __m256 elu8(__m256 x)
{
    __m256 v = _mm256_max_ps(x, _mm256_set1_ps(QT_ELU_MIN));
    __m256 k = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(QT_ELU_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(QT_ELU_LN2_HI), v);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(QT_ELU_LN2_LO), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(QT_ELU_C8), r, _mm256_set1_ps(QT_ELU_C7));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QT_ELU_C6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QT_ELU_C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QT_ELU_C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QT_ELU_C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QT_ELU_C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_mul_ps(p, r);
    /* 2^k from the exponent bits; k >= -126 after the clamp, so the result is a normal number */
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    __m256 s = _mm256_castsi256_ps(e);
    __m256 neg = _mm256_fmadd_ps(s, p, _mm256_sub_ps(s, _mm256_set1_ps(1.0f)));
    return _mm256_blendv_ps(neg, x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
}

void qt_elu_row_avx2(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, elu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float tmp[8] = {0};
        for (size_t j = 0; j < n - i; j++)
            tmp[j] = x[i + j];
        _mm256_storeu_ps(tmp, elu8(_mm256_loadu_ps(tmp)));
        for (size_t j = 0; j < n - i; j++)
            y[i + j] = tmp[j];
    }
}
#else
void qt_elu_row_avx2(float *y, const float *x, size_t n)
{
    qt_elu_row_scalar(y, x, n);
}
#endif
