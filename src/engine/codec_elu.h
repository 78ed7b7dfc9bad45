/* codec_elu.h — ELU (alpha 1), the codec encoder's activation: y = x for x > 0, e^x - 1 otherwise
 * (docs/engine.md §3.2).
 *
 * e^x - 1 without libm: x = k ln2 + r with |r| <= ln2/2, e^r - 1 by its Taylor series to r^8 (error < 3e-10),
 * then 2^k (e^r - 1) + (2^k - 1), which is exactly that series when k = 0, so small |x| keeps its relative
 * accuracy (a few ulp of expm1). Inputs below -87 give -1. A plain C version and AVX2 / AVX-512 versions of
 * the same math sit behind one function pointer chosen once; tests check them against each other and expm1.
 */
#ifndef QT_CODEC_ELU_H
#define QT_CODEC_ELU_H

#include <stddef.h>

/* y[i] = elu(x[i]) for i in [0, n); y may equal x. */
typedef void (*qt_elu_fn)(float *y, const float *x, size_t n);

void qt_elu_row_scalar(float *y, const float *x, size_t n);
void qt_elu_row_avx2(float *y, const float *x, size_t n);
void qt_elu_row_avx512(float *y, const float *x, size_t n);

/* The best version this CPU runs ($VOICEBOX_KERNELS=scalar|avx2|avx512 narrows the choice). */
qt_elu_fn qt_elu_get(void);

#define QT_ELU_MIN -87.0f /* e^-87 ~ 1.6e-38: still normal, and -1 in float after the subtraction */
#define QT_ELU_LOG2E 1.44269504088896341f
#define QT_ELU_LN2_HI 0.693359375f /* ln 2 in two parts (Cody-Waite): k * LN2_HI is exact for |k| < 2^11 */
#define QT_ELU_LN2_LO -2.12194440e-4f
/* e^r - 1 = r (1 + r (C2 + r (C3 + r (C4 + r (C5 + r (C6 + r (C7 + r C8))))))) */
#define QT_ELU_C2 5.0000000000e-1f
#define QT_ELU_C3 1.6666666667e-1f
#define QT_ELU_C4 4.1666666667e-2f
#define QT_ELU_C5 8.3333333333e-3f
#define QT_ELU_C6 1.3888888889e-3f
#define QT_ELU_C7 1.9841269841e-4f
#define QT_ELU_C8 2.4801587302e-5f

#endif
