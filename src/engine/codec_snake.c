/* codec_snake.c — plain SnakeBeta and the run-time choice of the SIMD versions (see codec_snake.h). */
#include "engine/codec_snake.h"
#include "engine/codec_isa.h"

#include <math.h>

void qt_snake_row_scalar(float *y, const float *x, size_t n, float a, float inv_b)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * a;
        float q = rintf(v * QT_SNAKE_INV_PI);
        float r = ((v - q * QT_SNAKE_PI_A) - q * QT_SNAKE_PI_B) - q * QT_SNAKE_PI_C;
        float r2 = r * r;
        float p = QT_SNAKE_S11;
        p = p * r2 + QT_SNAKE_S9;
        p = p * r2 + QT_SNAKE_S7;
        p = p * r2 + QT_SNAKE_S5;
        p = p * r2 + QT_SNAKE_S3;
        float s = r + r * r2 * p;
        y[i] = x[i] + inv_b * (s * s);
    }
}

qt_snake_fn qt_snake_get(void)
{
    static qt_snake_fn chosen;
    if (chosen) return chosen;
    qt_isa isa = qt_codec_isa();
    qt_snake_fn f = isa == QT_ISA_AVX512 ? qt_snake_row_avx512
                    : isa == QT_ISA_AVX2 ? qt_snake_row_avx2
                                         : qt_snake_row_scalar;
    chosen = f; /* a racing first call stores the same value */
    return f;
}
