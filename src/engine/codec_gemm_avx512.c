/* codec_gemm_avx512.c — qt_codec_gemm with AVX-512: 8 rows x 32 columns of C in 16 registers per step.
 * Each element gets one FMA per k in order (see codec_gemm.h); edges use masks, never another order. */
#include "engine/codec_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ROWS 8

#define DECL(i) __m512 c##i##0, c##i##1
#define LOAD(i)                                                                                            \
    c##i##0 = _mm512_maskz_loadu_ps(m0, C + (i) * ldc);                                                    \
    c##i##1 = _mm512_maskz_loadu_ps(m1, C + (i) * ldc + 16)
#define STEP(i)                                                                                            \
    do {                                                                                                   \
        __m512 a_ = _mm512_set1_ps(a[(i) * a_rs]);                                                         \
        c##i##0 = _mm512_fmadd_ps(a_, b0, c##i##0);                                                        \
        c##i##1 = _mm512_fmadd_ps(a_, b1, c##i##1);                                                        \
    } while (0)
#define STORE(i)                                                                                           \
    _mm512_mask_storeu_ps(C + (i) * ldc, m0, c##i##0);                                                     \
    _mm512_mask_storeu_ps(C + (i) * ldc + 16, m1, c##i##1)

static void kernel8(int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B, ptrdiff_t ldb,
                    float *C, ptrdiff_t ldc, __mmask16 m0, __mmask16 m1)
{
    DECL(0); DECL(1); DECL(2); DECL(3); DECL(4); DECL(5); DECL(6); DECL(7);
    LOAD(0); LOAD(1); LOAD(2); LOAD(3); LOAD(4); LOAD(5); LOAD(6); LOAD(7);
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, B + k * ldb), b1 = _mm512_maskz_loadu_ps(m1, B + k * ldb + 16);
        const float *a = A + k * a_ks;
        STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5); STEP(6); STEP(7);
    }
    STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5); STORE(6); STORE(7);
}

static void kernel1(int K, const float *A, ptrdiff_t a_ks, const float *B, ptrdiff_t ldb, float *C,
                    __mmask16 m0, __mmask16 m1)
{
    __m512 c0 = _mm512_maskz_loadu_ps(m0, C), c1 = _mm512_maskz_loadu_ps(m1, C + 16);
    for (int k = 0; k < K; k++) {
        __m512 a = _mm512_set1_ps(A[k * a_ks]);
        c0 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m0, B + k * ldb), c0);
        c1 = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m1, B + k * ldb + 16), c1);
    }
    _mm512_mask_storeu_ps(C, m0, c0);
    _mm512_mask_storeu_ps(C + 16, m1, c1);
}

static __mmask16 lanes(int n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

void qt_codec_gemm_avx512(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B,
                          ptrdiff_t ldb, float *C, ptrdiff_t ldc)
{
    int m8 = M / ROWS * ROWS;
    for (int n0 = 0; n0 < N; n0 += QT_CODEC_GEMM_NC) {
        int n_end = n0 + QT_CODEC_GEMM_NC < N ? n0 + QT_CODEC_GEMM_NC : N;
        for (int k0 = 0; k0 < K; k0 += QT_CODEC_GEMM_KC) {
            int kc = K - k0 < QT_CODEC_GEMM_KC ? K - k0 : QT_CODEC_GEMM_KC;
            const float *Ak = A + k0 * a_ks, *Bk = B + k0 * ldb;
            for (int m = 0; m < m8; m += ROWS)
                for (int n = n0; n < n_end; n += 32)
                    kernel8(kc, Ak + m * a_rs, a_rs, a_ks, Bk + n, ldb, C + m * ldc + n, ldc, lanes(n_end - n),
                            lanes(n_end - n - 16));
            for (int m = m8; m < M; m++)
                for (int n = n0; n < n_end; n += 32)
                    kernel1(kc, Ak + m * a_rs, a_ks, Bk + n, ldb, C + m * ldc + n, lanes(n_end - n),
                            lanes(n_end - n - 16));
        }
    }
}
#else
void qt_codec_gemm_avx512(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B,
                          ptrdiff_t ldb, float *C, ptrdiff_t ldc)
{
    qt_codec_gemm_scalar(M, N, K, A, a_rs, a_ks, B, ldb, C, ldc);
}
#endif
