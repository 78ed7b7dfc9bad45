/* codec_snake_avx2.c — SnakeBeta with AVX2 + FMA, the math of qt_snake_row_scalar eight lanes at a time. */
#include "engine/codec_snake.h"

#if defined(__x86_64__)
#include <immintrin.h>

static inline __m256 snake8(__m256 x, __m256 a, __m256 inv_b)
{
    __m256 v = _mm256_mul_ps(x, a);
    __m256 q = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(QT_SNAKE_INV_PI)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(q, _mm256_set1_ps(QT_SNAKE_PI_A), v);
    r = _mm256_fnmadd_ps(q, _mm256_set1_ps(QT_SNAKE_PI_B), r);
    r = _mm256_fnmadd_ps(q, _mm256_set1_ps(QT_SNAKE_PI_C), r);
    __m256 r2 = _mm256_mul_ps(r, r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(QT_SNAKE_S11), r2, _mm256_set1_ps(QT_SNAKE_S9));
    p = _mm256_fmadd_ps(p, r2, _mm256_set1_ps(QT_SNAKE_S7));
    p = _mm256_fmadd_ps(p, r2, _mm256_set1_ps(QT_SNAKE_S5));
    p = _mm256_fmadd_ps(p, r2, _mm256_set1_ps(QT_SNAKE_S3));
    __m256 s = _mm256_fmadd_ps(_mm256_mul_ps(r, r2), p, r);
    return _mm256_fmadd_ps(inv_b, _mm256_mul_ps(s, s), x);
}

void qt_snake_row_avx2(float *y, const float *x, size_t n, float a, float inv_b)
{
    __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(inv_b);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, snake8(_mm256_loadu_ps(x + i), va, vb));
    if (i < n) {
        float tmp[8] = {0};
        for (size_t j = 0; j < n - i; j++)
            tmp[j] = x[i + j];
        __m256 r = snake8(_mm256_loadu_ps(tmp), va, vb);
        _mm256_storeu_ps(tmp, r);
        for (size_t j = 0; j < n - i; j++)
            y[i + j] = tmp[j];
    }
}
#else
void qt_snake_row_avx2(float *y, const float *x, size_t n, float a, float inv_b)
{
    qt_snake_row_scalar(y, x, n, a, inv_b);
}
#endif
