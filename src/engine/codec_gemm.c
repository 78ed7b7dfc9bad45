/* codec_gemm.c — the plain product (the definition) and the run-time choice of the SIMD ones. */
#include "engine/codec_gemm.h"

#include <stdlib.h>
#include <string.h>

void qt_codec_gemm_scalar(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B,
                          ptrdiff_t ldb, float *C, ptrdiff_t ldc)
{
    for (int m = 0; m < M; m++) {
        float *c = C + m * ldc;
        for (int k = 0; k < K; k++) {
            float a = A[m * a_rs + k * a_ks];
            const float *b = B + k * ldb;
            for (int n = 0; n < N; n++)
                c[n] += a * b[n];
        }
    }
}

qt_codec_gemm_fn qt_codec_gemm_get(const char **name)
{
    static qt_codec_gemm_fn chosen;
    static const char *chosen_name;
    if (!chosen) {
        const char *want = getenv("VOICEBOX_KERNELS");
        qt_codec_gemm_fn f = qt_codec_gemm_scalar;
        const char *n = "scalar";
#if defined(__x86_64__)
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        int avx512 = avx2 && __builtin_cpu_supports("avx512f");
        if (!(want && !strcmp(want, "scalar"))) {
            if (avx512 && !(want && !strcmp(want, "avx2"))) {
                f = qt_codec_gemm_avx512;
                n = "avx512";
            } else if (avx2) {
                f = qt_codec_gemm_avx2;
                n = "avx2";
            }
        }
#else
        (void)want;
#endif
        chosen_name = n;
        chosen = f; /* a racing first call stores the same values */
    }
    if (name) *name = chosen_name;
    return chosen;
}
