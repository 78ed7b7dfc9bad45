/* codec_gemm_bf16.c — the plain split-bf16 product (the definition), the weights' split copies, and the
 * run-time choice of the AMX version (docs/engine.md §7.8). */
#include "engine/codec_gemm_bf16.h"
#include "engine/kernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* x = hi + lo + (what is lost): hi = bf16(x), lo = bf16(x - hi) */
static inline void split(float x, float *hi, float *lo)
{
    *hi = qt_bf16_to_f32(qt_f32_to_bf16(x));
    *lo = qt_bf16_to_f32(qt_f32_to_bf16(x - *hi));
}

void qt_codec_gemm_bf16_scalar(int M, int N, int K, const uint16_t *A, ptrdiff_t lda, const float *B,
                               ptrdiff_t ldb, float *C, ptrdiff_t ldc)
{
    for (int m = 0; m < M; m++) {
        float *c = C + m * ldc;
        for (int k = 0; k < K; k++) {
            const uint16_t *a = A + qt_codec_bf16_at(lda, m, k);
            float a_hi = qt_bf16_to_f32(a[0]), a_lo = qt_bf16_to_f32(a[512]);
            const float *b = B + k * ldb;
            for (int n = 0; n < N; n++) {
                float b_hi, b_lo;
                split(b[n], &b_hi, &b_lo);
                c[n] += a_hi * b_hi;
                c[n] += a_hi * b_lo;
                c[n] += a_lo * b_hi;
            }
        }
    }
}

uint16_t *qt_codec_bf16_matrix(const float *w, int rows, int K, ptrdiff_t rs, ptrdiff_t ks, ptrdiff_t *lda)
{
    ptrdiff_t ld = 2 * ((K + QT_CODEC_BF16_KPAD - 1) / QT_CODEC_BF16_KPAD * QT_CODEC_BF16_KPAD);
    int padded = (rows + QT_CODEC_BF16_ROWS - 1) / QT_CODEC_BF16_ROWS * QT_CODEC_BF16_ROWS;
    uint16_t *out = calloc((size_t)padded * ld + 1, sizeof *out);
    if (!out) return NULL;
    /* tile by tile: 16 rows x 32 k, written in order; 16 source rows (or 32 source lines of 16 floats, for a
     * transposed weight) in use at a time */
    float x[32];
    for (int r0 = 0; r0 < rows; r0 += 16)
        for (int k0 = 0; k0 < K; k0 += 32) {
            int nk = K - k0 < 32 ? K - k0 : 32;
            uint16_t *tile = out + qt_codec_bf16_at(ld, r0, k0);
            for (int r = r0; r < r0 + 16 && r < rows; r++) {
                uint16_t *hi = tile + (r - r0) * 32, *lo = hi + 512;
                for (int k = 0; k < nk; k++)
                    x[k] = w[r * rs + (k0 + k) * ks];
                for (int k = 0; k < nk; k++) {
                    hi[k] = qt_f32_to_bf16(x[k]);
                    lo[k] = qt_f32_to_bf16(x[k] - qt_bf16_to_f32(hi[k]));
                }
            }
        }
    *lda = ld;
    return out;
}

#if defined(__x86_64__)
#define ARCH_REQ_XCOMP_PERM 0x1023 /* linux/arch/x86/include/uapi/asm/prctl.h */
#define XFEATURE_XTILEDATA 18

/* AMX needs the CPU's AMX-TILE and AMX-BF16 bits, and the kernel's permission for the tile data state,
 * asked once per process (Linux 5.16+). */
static int amx_probe(void)
{
    unsigned a, b, c, d;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return 0; /* the packing */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!((d >> 22) & 1) || !((d >> 24) & 1)) return 0; /* AMX-BF16, AMX-TILE */
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

#endif

int qt_codec_amx_usable(void)
{
    static int state; /* 0 not asked, 1 yes, 2 no; a racing first call asks twice, harmlessly */
#if defined(__x86_64__)
    if (!state) state = amx_probe() ? 1 : 2;
#else
    state = 2;
#endif
    return state == 1;
}

qt_codec_gemm_bf16_fn qt_codec_gemm_bf16_get(const char **name)
{
    static qt_codec_gemm_bf16_fn chosen;
    static const char *chosen_name;
    if (!chosen_name) {
        const char *want = getenv("VOICEBOX_KERNELS");
        qt_codec_gemm_bf16_fn f = NULL;
        const char *n = "none";
        if (want && !strcmp(want, "scalar")) {
            f = qt_codec_gemm_bf16_scalar;
            n = "scalar";
        } else if (!want || (strcmp(want, "avx2") && strcmp(want, "avx512"))) {
            if (qt_codec_amx_usable()) {
                f = qt_codec_gemm_bf16_amx;
                n = "amx";
            }
        }
        chosen = f;
        chosen_name = n; /* a racing first call stores the same values */
    }
    if (name) *name = chosen_name;
    return chosen;
}
