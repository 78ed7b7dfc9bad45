/* codec_gemm_avx512.c — qt_codec_gemm with AVX-512: 6 rows x 64 columns of C in 24 registers per step
 * (8 x 32 for narrow products).
 * Each element gets one FMA per k in order (see codec_gemm.h); edges use masks, never another order. */
#include "engine/codec_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ROWS 8

static __mmask16 lanes(int n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

#define DECL(i) __m512 c##i##0, c##i##1
#define LOAD(i)                                                                                              \
    c##i##0 = _mm512_maskz_loadu_ps(m0, C + (i)*ldc);                                                        \
    c##i##1 = _mm512_maskz_loadu_ps(m1, C + (i)*ldc + 16)
#define STEP(i)                                                                                              \
    do {                                                                                                     \
        __m512 a_ = _mm512_set1_ps(a[(i)*a_rs]);                                                             \
        c##i##0 = _mm512_fmadd_ps(a_, b0, c##i##0);                                                          \
        c##i##1 = _mm512_fmadd_ps(a_, b1, c##i##1);                                                          \
    } while (0)
#define STORE(i)                                                                                             \
    _mm512_mask_storeu_ps(C + (i)*ldc, m0, c##i##0);                                                         \
    _mm512_mask_storeu_ps(C + (i)*ldc + 16, m1, c##i##1)

static void kernel8(int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B, ptrdiff_t ldb,
                    float *C, ptrdiff_t ldc, __mmask16 m0, __mmask16 m1)
{
    DECL(0);
    DECL(1);
    DECL(2);
    DECL(3);
    DECL(4);
    DECL(5);
    DECL(6);
    DECL(7);
    LOAD(0);
    LOAD(1);
    LOAD(2);
    LOAD(3);
    LOAD(4);
    LOAD(5);
    LOAD(6);
    LOAD(7);
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, B + k * ldb), b1 = _mm512_maskz_loadu_ps(m1, B + k * ldb + 16);
        const float *a = A + k * a_ks;
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        STEP(4);
        STEP(5);
        STEP(6);
        STEP(7);
    }
    STORE(0);
    STORE(1);
    STORE(2);
    STORE(3);
    STORE(4);
    STORE(5);
    STORE(6);
    STORE(7);
}

#define DECL4(i) __m512 c##i##0, c##i##1, c##i##2, c##i##3
#define LOAD4(i)                                                                                             \
    c##i##0 = _mm512_maskz_loadu_ps(m0, C + (i)*ldc);                                                        \
    c##i##1 = _mm512_maskz_loadu_ps(m1, C + (i)*ldc + 16);                                                   \
    c##i##2 = _mm512_maskz_loadu_ps(m2, C + (i)*ldc + 32);                                                   \
    c##i##3 = _mm512_maskz_loadu_ps(m3, C + (i)*ldc + 48)
#define STEP4(i)                                                                                             \
    do {                                                                                                     \
        __m512 a_ = _mm512_set1_ps(a[(i)*a_rs]);                                                             \
        c##i##0 = _mm512_fmadd_ps(a_, b0, c##i##0);                                                          \
        c##i##1 = _mm512_fmadd_ps(a_, b1, c##i##1);                                                          \
        c##i##2 = _mm512_fmadd_ps(a_, b2, c##i##2);                                                          \
        c##i##3 = _mm512_fmadd_ps(a_, b3, c##i##3);                                                          \
    } while (0)
#define STORE4(i)                                                                                            \
    _mm512_mask_storeu_ps(C + (i)*ldc, m0, c##i##0);                                                         \
    _mm512_mask_storeu_ps(C + (i)*ldc + 16, m1, c##i##1);                                                    \
    _mm512_mask_storeu_ps(C + (i)*ldc + 32, m2, c##i##2);                                                    \
    _mm512_mask_storeu_ps(C + (i)*ldc + 48, m3, c##i##3)

/* 6 rows x 64 columns: 24 accumulators, 10 loads per 24 FMAs */
static void kernel6x64(int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B, ptrdiff_t ldb,
                       float *C, ptrdiff_t ldc, __mmask16 m0, __mmask16 m1, __mmask16 m2, __mmask16 m3)
{
    DECL4(0);
    DECL4(1);
    DECL4(2);
    DECL4(3);
    DECL4(4);
    DECL4(5);
    LOAD4(0);
    LOAD4(1);
    LOAD4(2);
    LOAD4(3);
    LOAD4(4);
    LOAD4(5);
    for (int k = 0; k < K; k++) {
        const float *b = B + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
        __m512 b2 = _mm512_maskz_loadu_ps(m2, b + 32), b3 = _mm512_maskz_loadu_ps(m3, b + 48);
        const float *a = A + k * a_ks;
        STEP4(0);
        STEP4(1);
        STEP4(2);
        STEP4(3);
        STEP4(4);
        STEP4(5);
    }
    STORE4(0);
    STORE4(1);
    STORE4(2);
    STORE4(3);
    STORE4(4);
    STORE4(5);
}

/* 16 rows x up to 16 columns: for products only a few columns wide (short streaming steps at 12.5-50 Hz),
 * where a 32-column kernel would spend half its FMAs on empty lanes. */
#define STEP1(i) d##i = _mm512_fmadd_ps(_mm512_set1_ps(a[(i)*a_rs]), b0, d##i)
static void kernel16x16(int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B, ptrdiff_t ldb,
                        float *C, ptrdiff_t ldc, __mmask16 m0)
{
    __m512 d0 = _mm512_maskz_loadu_ps(m0, C), d1 = _mm512_maskz_loadu_ps(m0, C + ldc),
           d2 = _mm512_maskz_loadu_ps(m0, C + 2 * ldc), d3 = _mm512_maskz_loadu_ps(m0, C + 3 * ldc),
           d4 = _mm512_maskz_loadu_ps(m0, C + 4 * ldc), d5 = _mm512_maskz_loadu_ps(m0, C + 5 * ldc),
           d6 = _mm512_maskz_loadu_ps(m0, C + 6 * ldc), d7 = _mm512_maskz_loadu_ps(m0, C + 7 * ldc),
           d8 = _mm512_maskz_loadu_ps(m0, C + 8 * ldc), d9 = _mm512_maskz_loadu_ps(m0, C + 9 * ldc),
           d10 = _mm512_maskz_loadu_ps(m0, C + 10 * ldc), d11 = _mm512_maskz_loadu_ps(m0, C + 11 * ldc),
           d12 = _mm512_maskz_loadu_ps(m0, C + 12 * ldc), d13 = _mm512_maskz_loadu_ps(m0, C + 13 * ldc),
           d14 = _mm512_maskz_loadu_ps(m0, C + 14 * ldc), d15 = _mm512_maskz_loadu_ps(m0, C + 15 * ldc);
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, B + k * ldb);
        const float *a = A + k * a_ks;
        STEP1(0);
        STEP1(1);
        STEP1(2);
        STEP1(3);
        STEP1(4);
        STEP1(5);
        STEP1(6);
        STEP1(7);
        STEP1(8);
        STEP1(9);
        STEP1(10);
        STEP1(11);
        STEP1(12);
        STEP1(13);
        STEP1(14);
        STEP1(15);
    }
    _mm512_mask_storeu_ps(C, m0, d0);
    _mm512_mask_storeu_ps(C + ldc, m0, d1);
    _mm512_mask_storeu_ps(C + 2 * ldc, m0, d2);
    _mm512_mask_storeu_ps(C + 3 * ldc, m0, d3);
    _mm512_mask_storeu_ps(C + 4 * ldc, m0, d4);
    _mm512_mask_storeu_ps(C + 5 * ldc, m0, d5);
    _mm512_mask_storeu_ps(C + 6 * ldc, m0, d6);
    _mm512_mask_storeu_ps(C + 7 * ldc, m0, d7);
    _mm512_mask_storeu_ps(C + 8 * ldc, m0, d8);
    _mm512_mask_storeu_ps(C + 9 * ldc, m0, d9);
    _mm512_mask_storeu_ps(C + 10 * ldc, m0, d10);
    _mm512_mask_storeu_ps(C + 11 * ldc, m0, d11);
    _mm512_mask_storeu_ps(C + 12 * ldc, m0, d12);
    _mm512_mask_storeu_ps(C + 13 * ldc, m0, d13);
    _mm512_mask_storeu_ps(C + 14 * ldc, m0, d14);
    _mm512_mask_storeu_ps(C + 15 * ldc, m0, d15);
}

static void kernel1x16(int K, const float *A, ptrdiff_t a_ks, const float *B, ptrdiff_t ldb, float *C,
                       __mmask16 m0)
{
    __m512 c0 = _mm512_maskz_loadu_ps(m0, C);
    for (int k = 0; k < K; k++)
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(A[k * a_ks]), _mm512_maskz_loadu_ps(m0, B + k * ldb), c0);
    _mm512_mask_storeu_ps(C, m0, c0);
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

void qt_codec_gemm_avx512(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B,
                          ptrdiff_t ldb, float *C, ptrdiff_t ldc)
{
    int m6 = M / 6 * 6, m8 = M / ROWS * ROWS;
    float panel[QT_CODEC_GEMM_KC * 64] __attribute__((aligned(64))); /* one 64-column strip of B, packed */
    for (int n0 = 0; n0 < N; n0 += QT_CODEC_GEMM_NC) {
        int n_end = n0 + QT_CODEC_GEMM_NC < N ? n0 + QT_CODEC_GEMM_NC : N;
        int wide_end = n0;
        while (n_end - wide_end >= 48)
            wide_end += 64 < n_end - wide_end ? 64 : n_end - wide_end;
        for (int k0 = 0; k0 < K; k0 += QT_CODEC_GEMM_KC) {
            int kc = K - k0 < QT_CODEC_GEMM_KC ? K - k0 : QT_CODEC_GEMM_KC;
            const float *Ak = A + k0 * a_ks, *Bk = B + k0 * ldb;
            for (int n = n0; n < wide_end; n += 64) {
                int w = wide_end - n < 64 ? wide_end - n : 64;
                __mmask16 q0 = lanes(w), q1 = lanes(w - 16), q2 = lanes(w - 32), q3 = lanes(w - 48);
                for (int k = 0; k < kc; k++) {
                    const float *src = Bk + k * ldb + n;
                    if (k + 8 < kc) { /* rows are far apart (ldb): fetch ahead of the copy */
                        _mm_prefetch((const char *)(src + 8 * ldb), _MM_HINT_T0);
                        _mm_prefetch((const char *)(src + 8 * ldb + 16), _MM_HINT_T0);
                        _mm_prefetch((const char *)(src + 8 * ldb + 32), _MM_HINT_T0);
                        _mm_prefetch((const char *)(src + 8 * ldb + 48), _MM_HINT_T0);
                    }
                    float *dst = panel + k * 64;
                    _mm512_store_ps(dst, _mm512_maskz_loadu_ps(q0, src));
                    _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(q1, src + 16));
                    _mm512_store_ps(dst + 32, _mm512_maskz_loadu_ps(q2, src + 32));
                    _mm512_store_ps(dst + 48, _mm512_maskz_loadu_ps(q3, src + 48));
                }
                for (int m = 0; m < m6; m += 6)
                    kernel6x64(kc, Ak + m * a_rs, a_rs, a_ks, panel, 64, C + m * ldc + n, ldc, q0, q1, q2,
                               q3);
                for (int m = m6; m < M; m++) {
                    kernel1(kc, Ak + m * a_rs, a_ks, panel, 64, C + m * ldc + n, q0, q1);
                    if (w > 32)
                        kernel1(kc, Ak + m * a_rs, a_ks, panel + 32, 64, C + m * ldc + n + 32, q2, q3);
                }
            }
            if (wide_end == n_end) continue;
            /* the rest (< 48 columns): strips of 32 while more than 16 are left, then one of <= 16 */
            int mid_end = wide_end;
            while (n_end - mid_end > 16)
                mid_end += 32 < n_end - mid_end ? 32 : n_end - mid_end;
            for (int m = 0; m < m8; m += ROWS)
                for (int n = wide_end; n < mid_end; n += 32)
                    kernel8(kc, Ak + m * a_rs, a_rs, a_ks, Bk + n, ldb, C + m * ldc + n, ldc,
                            lanes(mid_end - n), lanes(mid_end - n - 16));
            for (int m = m8; m < M; m++)
                for (int n = wide_end; n < mid_end; n += 32)
                    kernel1(kc, Ak + m * a_rs, a_ks, Bk + n, ldb, C + m * ldc + n, lanes(mid_end - n),
                            lanes(mid_end - n - 16));
            if (mid_end == n_end) continue;
            __mmask16 q = lanes(n_end - mid_end);
            int m16 = M / 16 * 16;
            for (int m = 0; m < m16; m += 16)
                kernel16x16(kc, Ak + m * a_rs, a_rs, a_ks, Bk + mid_end, ldb, C + m * ldc + mid_end, ldc, q);
            for (int m = m16; m < M; m++)
                kernel1x16(kc, Ak + m * a_rs, a_ks, Bk + mid_end, ldb, C + m * ldc + mid_end, q);
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
