/* codec_elu_avx512.c — ELU with AVX-512, the math of qt_elu_row_scalar sixteen lanes at a time. */
#include "engine/codec_elu.h"

#if defined(__x86_64__) && defined(__AVX512F__)
#include <immintrin.h>

static inline __m512 elu16(__m512 x)
{
    __m512 v = _mm512_max_ps(x, _mm512_set1_ps(QT_ELU_MIN));
    __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(QT_ELU_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(QT_ELU_LN2_HI), v);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(QT_ELU_LN2_LO), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(QT_ELU_C8), r, _mm512_set1_ps(QT_ELU_C7));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QT_ELU_C6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QT_ELU_C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QT_ELU_C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QT_ELU_C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QT_ELU_C2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_mul_ps(p, r);
    __m512 s = _mm512_scalef_ps(_mm512_set1_ps(1.0f), k); /* 2^k */
    __m512 neg = _mm512_fmadd_ps(s, p, _mm512_sub_ps(s, _mm512_set1_ps(1.0f)));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), neg, x);
}

void qt_elu_row_avx512(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, elu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, elu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
#else
void qt_elu_row_avx512(float *y, const float *x, size_t n)
{
    qt_elu_row_scalar(y, x, n);
}
#endif
