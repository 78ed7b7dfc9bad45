/* codec_gemm_bf16.h — the codec decoder's matrix product on bf16 hardware, for precision int8
 * (docs/engine.md §7.8).
 *
 * C[m*ldc + n] += sum_k A[m, k] * B[k*ldb + n]   for m in [0, M), n in [0, N), k in [0, K),
 * with each float32 factor x split into two bf16 halves, x = hi + lo (hi = bf16(x), lo = bf16(x - hi), ~16
 * bits of the 24 kept), and each term taken as hi*hi + hi*lo + lo*hi, summed in float32. One bf16 product
 * per term would be 3x cheaper, but the decoder amplifies its 2^-9 rounding to errors of 0.04-0.06 in the
 * samples; the split keeps them near 1e-3. A is a weight split once at load by qt_codec_bf16_matrix;
 * B is split as the kernel packs it. Each version gives the same bits however a product is cut into pieces
 * of rows or columns, so streaming and one-pass decoding still agree exactly; the AMX version rounds inside
 * a tile step as its hardware does, so it is compared with the plain one within a tolerance.
 */
#ifndef QT_CODEC_GEMM_BF16_H
#define QT_CODEC_GEMM_BF16_H

#include <stddef.h>
#include <stdint.h>

#define QT_CODEC_BF16_KPAD 32 /* one AMX tile row of bf16: each half of a weight row is padded to this */

/* A: rows of lda values, the high halves A[m*lda + k] then the low halves A[m*lda + lda/2 + k]. */
typedef void (*qt_codec_gemm_bf16_fn)(int M, int N, int K, const uint16_t *A, ptrdiff_t lda, const float *B,
                                      ptrdiff_t ldb, float *C, ptrdiff_t ldc);

void qt_codec_gemm_bf16_scalar(int M, int N, int K, const uint16_t *A, ptrdiff_t lda, const float *B,
                               ptrdiff_t ldb, float *C, ptrdiff_t ldc);
/* AMX-BF16 tiles (tdpbf16ps) */
void qt_codec_gemm_bf16_amx(int M, int N, int K, const uint16_t *A, ptrdiff_t lda, const float *B,
                            ptrdiff_t ldb, float *C, ptrdiff_t ldc);

/* The version to decode with, or NULL when there is none worth it: "amx" when the CPU has AMX-BF16 and the
 * OS grants it to this process; with $VOICEBOX_KERNELS=scalar the plain one (for tests); otherwise NULL and
 * "none": without AMX, three bf16 products per term (vdpbf16ps runs at half the float32 FMA rate on the
 * CPUs that have both) cost more than the float32 product, so the decoder stays float32. */
qt_codec_gemm_bf16_fn qt_codec_gemm_bf16_get(const char **name);
int qt_codec_amx_usable(void); /* 1 when AMX-BF16 is there and the OS granted it to this process */

/* The split copy of the matrix W[r, k] = w[r*rs + k*ks] (rows x K), malloc'd, rows of *lda values; NULL
 * when out of memory. rs/ks read a transposed weight in place (the transposed convolutions'). */
uint16_t *qt_codec_bf16_matrix(const float *w, int rows, int K, ptrdiff_t rs, ptrdiff_t ks, ptrdiff_t *lda);

#endif
