/* quant_avx512.c — the int8 matrix kernel on AVX-512 VNNI (vpdpbusd; compiled with -mavx512f/bw/vl/dq,
 * VNNI enabled per function, called only when the CPU has it). Bit-identical to qt_matmul_q8_scalar.
 *
 * One group of 64 columns is one register: vpdpbusd adds the 16 lane sums of (q + 128) * x onto the
 * activation's correction (-128 * lane sums of x), which leaves the exact sums of q * x.
 */
#include "engine/quant.h"

#include <immintrin.h>

#define ROWS 2 /* rows per pass: two independent FMA chains */

__attribute__((target("avx512vnni"))) void qt_matmul_q8_vnni(float *y, int ldy, const qt_q8 *w,
                                                              const qt_q8_act *a, int r0, int r1)
{
    size_t width = (size_t)w->groups * QT_Q8_GROUP;
    for (int l = 0; l < a->n; l++) {
        const int8_t *x = a->q + (size_t)l * width;
        const float *xs = a->scale + (size_t)l * w->groups;
        const int32_t *corr = a->corr + (size_t)l * w->groups * 16;
        int r = r0;
        for (; r + ROWS <= r1; r += ROWS) {
            const uint8_t *w0 = w->w + (size_t)r * width, *w1 = w0 + width;
            const float *s0 = w->scale + (size_t)r * w->groups, *s1 = s0 + w->groups;
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
            for (int g = 0; g < w->groups; g++) {
                size_t b = (size_t)g * QT_Q8_GROUP;
                __m512i xv = _mm512_load_si512((const void *)(x + b));
                __m512i c = _mm512_load_si512((const void *)(corr + (size_t)g * 16));
                __m512i d0 = _mm512_dpbusd_epi32(c, _mm512_load_si512((const void *)(w0 + b)), xv);
                __m512i d1 = _mm512_dpbusd_epi32(c, _mm512_load_si512((const void *)(w1 + b)), xv);
                acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_set1_ps(s0[g] * xs[g]), acc0);
                acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d1), _mm512_set1_ps(s1[g] * xs[g]), acc1);
            }
            float acc[16];
            _mm512_storeu_ps(acc, acc0);
            y[(size_t)l * ldy + r] = qt_q8_reduce16(acc);
            _mm512_storeu_ps(acc, acc1);
            y[(size_t)l * ldy + r + 1] = qt_q8_reduce16(acc);
        }
        for (; r < r1; r++) {
            const uint8_t *w0 = w->w + (size_t)r * width;
            const float *s0 = w->scale + (size_t)r * w->groups;
            __m512 acc0 = _mm512_setzero_ps();
            for (int g = 0; g < w->groups; g++) {
                size_t b = (size_t)g * QT_Q8_GROUP;
                __m512i c = _mm512_load_si512((const void *)(corr + (size_t)g * 16));
                __m512i d0 = _mm512_dpbusd_epi32(c, _mm512_load_si512((const void *)(w0 + b)),
                                                 _mm512_load_si512((const void *)(x + b)));
                acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_set1_ps(s0[g] * xs[g]), acc0);
            }
            float acc[16];
            _mm512_storeu_ps(acc, acc0);
            y[(size_t)l * ldy + r] = qt_q8_reduce16(acc);
        }
    }
}
