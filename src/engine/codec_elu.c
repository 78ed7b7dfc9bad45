/* codec_elu.c — plain ELU and the run-time choice of the SIMD versions (see codec_elu.h). */
#include "engine/codec_elu.h"
#include "engine/codec_isa.h"

#include <math.h>

static inline float elu1(float x)
{
    if (x > 0.0f) return x;
    float v = x > QT_ELU_MIN ? x : QT_ELU_MIN;
    float k = rintf(v * QT_ELU_LOG2E);
    float r = fmaf(-k, QT_ELU_LN2_HI, v);
    r = fmaf(-k, QT_ELU_LN2_LO, r);
    float p = QT_ELU_C8;
    p = fmaf(p, r, QT_ELU_C7);
    p = fmaf(p, r, QT_ELU_C6);
    p = fmaf(p, r, QT_ELU_C5);
    p = fmaf(p, r, QT_ELU_C4);
    p = fmaf(p, r, QT_ELU_C3);
    p = fmaf(p, r, QT_ELU_C2);
    p = fmaf(p, r, 1.0f);
    p *= r; /* e^r - 1 */
    float s = ldexpf(1.0f, (int)k);
    return fmaf(s, p, s - 1.0f);
}

void qt_elu_row_scalar(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = elu1(x[i]);
}

qt_elu_fn qt_elu_get(void)
{
    static qt_elu_fn chosen;
    if (chosen) return chosen;
    qt_isa isa = qt_codec_isa();
    qt_elu_fn f = isa == QT_ISA_AVX512 ? qt_elu_row_avx512
                  : isa == QT_ISA_AVX2 ? qt_elu_row_avx2
                                       : qt_elu_row_scalar;
    chosen = f; /* a racing first call stores the same value */
    return f;
}
