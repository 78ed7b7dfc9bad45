/* codec_snake.c — plain SnakeBeta and the run-time choice of the SIMD versions (see codec_snake.h). */
#include "engine/codec_snake.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static int cpu_has_avx2(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int cpu_has_avx512(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && cpu_has_avx2();
#else
    return 0;
#endif
}

qt_snake_fn qt_snake_get(void)
{
    static qt_snake_fn chosen;
    if (chosen) return chosen;
    const char *want = getenv("VOICEBOX_KERNELS");
    qt_snake_fn f = qt_snake_row_scalar;
    if (!(want && !strcmp(want, "scalar"))) {
        if (cpu_has_avx512() && !(want && !strcmp(want, "avx2")))
            f = qt_snake_row_avx512;
        else if (cpu_has_avx2())
            f = qt_snake_row_avx2;
    }
    chosen = f; /* a racing first call stores the same value */
    return f;
}
