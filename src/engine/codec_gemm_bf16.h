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
#define QT_CODEC_BF16_ROWS 32 /* a split weight's rows are padded to this; row pieces start at multiples */

/* A is laid out in AMX tiles, so that the kernel streams it: blocks of 16 rows (16*lda values each), in a
 * block one 32-k chunk after the other (1024 values: the high halves as a 16 x 32 tile, then the low halves),
 * lda = 2 * K rounded up to 32; qt_codec_bf16_at reads element (m, k). A product on rows [lo, hi) of a weight
 * is given A + lo*lda with lo a multiple of QT_CODEC_BF16_ROWS (the kernel may read up to the next multiple
 * of it past hi: zero rows). */
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

/* The split copy of the matrix W[r, k] = w[r*rs + k*ks] (rows x K) in the layout above, malloc'd, rows
 * padded to QT_CODEC_BF16_ROWS; NULL when out of memory. rs/ks read a transposed weight in place (the
 * transposed convolutions'). */
uint16_t *qt_codec_bf16_matrix(const float *w, int rows, int K, ptrdiff_t rs, ptrdiff_t ks, ptrdiff_t *lda);

/* Where the high half of element (m, k) of a split weight sits; the low half is 512 values further. */
static inline ptrdiff_t qt_codec_bf16_at(ptrdiff_t lda, int m, int k)
{
    return (ptrdiff_t)(m / 16) * 16 * lda + (k / 32) * 1024 + (m % 16) * 32 + k % 32;
}

#endif
