/* codec_gemm_avx2.c — qt_codec_gemm with AVX2 + FMA: 6 rows x 16 columns of C in 12 registers per step.
 * Each element gets one FMA per k in order (see codec_gemm.h); edges use masks, never another order. */
#include "engine/codec_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ROWS 6

#define DECL(i) __m256 c##i##0, c##i##1
#define LOAD(i)                                                                                              \
    c##i##0 = _mm256_maskload_ps(C + (i)*ldc, m0);                                                           \
    c##i##1 = _mm256_maskload_ps(C + (i)*ldc + 8, m1)
#define STEP(i)                                                                                              \
    do {                                                                                                     \
        __m256 a_ = _mm256_broadcast_ss(a + (i)*a_rs);                                                       \
        c##i##0 = _mm256_fmadd_ps(a_, b0, c##i##0);                                                          \
        c##i##1 = _mm256_fmadd_ps(a_, b1, c##i##1);                                                          \
    } while (0)
#define STORE(i)                                                                                             \
    _mm256_maskstore_ps(C + (i)*ldc, m0, c##i##0);                                                           \
    _mm256_maskstore_ps(C + (i)*ldc + 8, m1, c##i##1)

static void kernel6(int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B, ptrdiff_t ldb,
                    float *C, ptrdiff_t ldc, __m256i m0, __m256i m1)
{
    DECL(0);
    DECL(1);
    DECL(2);
    DECL(3);
    DECL(4);
    DECL(5);
    LOAD(0);
    LOAD(1);
    LOAD(2);
    LOAD(3);
    LOAD(4);
    LOAD(5);
    for (int k = 0; k < K; k++) {
        __m256 b0 = _mm256_maskload_ps(B + k * ldb, m0), b1 = _mm256_maskload_ps(B + k * ldb + 8, m1);
        const float *a = A + k * a_ks;
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        STEP(4);
        STEP(5);
    }
    STORE(0);
    STORE(1);
    STORE(2);
    STORE(3);
    STORE(4);
    STORE(5);
}

static void kernel1(int K, const float *A, ptrdiff_t a_ks, const float *B, ptrdiff_t ldb, float *C,
                    __m256i m0, __m256i m1)
{
    __m256 c0 = _mm256_maskload_ps(C, m0), c1 = _mm256_maskload_ps(C + 8, m1);
    for (int k = 0; k < K; k++) {
        __m256 a = _mm256_broadcast_ss(A + k * a_ks);
        c0 = _mm256_fmadd_ps(a, _mm256_maskload_ps(B + k * ldb, m0), c0);
        c1 = _mm256_fmadd_ps(a, _mm256_maskload_ps(B + k * ldb + 8, m1), c1);
    }
    _mm256_maskstore_ps(C, m0, c0);
    _mm256_maskstore_ps(C + 8, m1, c1);
}

static __m256i lanes(int n)
{
    int v[8];
    for (int i = 0; i < 8; i++)
        v[i] = i < n ? -1 : 0;
    return _mm256_loadu_si256((const __m256i *)v);
}

void qt_codec_gemm_avx2(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B,
                        ptrdiff_t ldb, float *C, ptrdiff_t ldc)
{
    int m6 = M / ROWS * ROWS;
    for (int n0 = 0; n0 < N; n0 += QT_CODEC_GEMM_NC) {
        int n_end = n0 + QT_CODEC_GEMM_NC < N ? n0 + QT_CODEC_GEMM_NC : N;
        for (int k0 = 0; k0 < K; k0 += QT_CODEC_GEMM_KC) {
            int kc = K - k0 < QT_CODEC_GEMM_KC ? K - k0 : QT_CODEC_GEMM_KC;
            const float *Ak = A + k0 * a_ks, *Bk = B + k0 * ldb;
            for (int n = n0; n < n_end; n += 16) {
                __m256i m0 = lanes(n_end - n), m1 = lanes(n_end - n - 8);
                for (int m = 0; m < m6; m += ROWS)
                    kernel6(kc, Ak + m * a_rs, a_rs, a_ks, Bk + n, ldb, C + m * ldc + n, ldc, m0, m1);
                for (int m = m6; m < M; m++)
                    kernel1(kc, Ak + m * a_rs, a_ks, Bk + n, ldb, C + m * ldc + n, m0, m1);
            }
        }
    }
}
#else
void qt_codec_gemm_avx2(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B,
                        ptrdiff_t ldb, float *C, ptrdiff_t ldc)
{
    qt_codec_gemm_scalar(M, N, K, A, a_rs, a_ks, B, ldb, C, ldc);
}
#endif
