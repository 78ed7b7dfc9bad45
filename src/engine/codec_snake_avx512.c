/* codec_snake_avx512.c — SnakeBeta with AVX-512, the math of qt_snake_row_scalar sixteen lanes at a time. */
#include "engine/codec_snake.h"

#if defined(__x86_64__)
#include <immintrin.h>

static inline __m512 snake16(__m512 x, __m512 a, __m512 inv_b)
{
    __m512 v = _mm512_mul_ps(x, a);
    __m512 q = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(QT_SNAKE_INV_PI)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(q, _mm512_set1_ps(QT_SNAKE_PI_A), v);
    r = _mm512_fnmadd_ps(q, _mm512_set1_ps(QT_SNAKE_PI_B), r);
    r = _mm512_fnmadd_ps(q, _mm512_set1_ps(QT_SNAKE_PI_C), r);
    __m512 r2 = _mm512_mul_ps(r, r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(QT_SNAKE_S11), r2, _mm512_set1_ps(QT_SNAKE_S9));
    p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(QT_SNAKE_S7));
    p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(QT_SNAKE_S5));
    p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(QT_SNAKE_S3));
    __m512 s = _mm512_fmadd_ps(_mm512_mul_ps(r, r2), p, r);
    return _mm512_fmadd_ps(inv_b, _mm512_mul_ps(s, s), x);
}

void qt_snake_row_avx512(float *y, const float *x, size_t n, float a, float inv_b)
{
    __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(inv_b);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, snake16(_mm512_loadu_ps(x + i), va, vb));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, m, snake16(_mm512_maskz_loadu_ps(m, x + i), va, vb));
    }
}
#else
void qt_snake_row_avx512(float *y, const float *x, size_t n, float a, float inv_b)
{
    qt_snake_row_scalar(y, x, n, a, inv_b);
}
#endif
