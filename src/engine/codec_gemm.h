/* codec_gemm.h — the codec's matrix product, written so that streaming and one-pass decoding agree exactly.
 *
 * C[m*ldc + n] += sum_k A[m*a_rs + k*a_ks] * B[k*ldb + n]   for m in [0, M), n in [0, N).
 *
 * Every element is accumulated in the order k = 0..K-1, one multiply-add per term, starting from what C
 * holds (a bias or a residual), whatever M, N and the tiling. So any split of a product into pieces — the
 * frames of a streaming push, the threads of a pool — gives bit-identical results. BLAS does not promise
 * that (its kernels change with the shape), and the decoder amplifies rounding differences ~500-fold.
 * Vectors run along n (time, contiguous in B and C); A is broadcast, so a_rs/a_ks also read a transposed A
 * in place (the transposed convolutions' weights). A plain version and AVX2 / AVX-512 versions sit behind one
 * pointer chosen once; the plain one is the definition the tests check the others against.
 */
#ifndef QT_CODEC_GEMM_H
#define QT_CODEC_GEMM_H

#include <stddef.h>

typedef void (*qt_codec_gemm_fn)(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks,
                                 const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc);

void qt_codec_gemm_scalar(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B,
                          ptrdiff_t ldb, float *C, ptrdiff_t ldc);
void qt_codec_gemm_avx2(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B,
                        ptrdiff_t ldb, float *C, ptrdiff_t ldc);
void qt_codec_gemm_avx512(int M, int N, int K, const float *A, ptrdiff_t a_rs, ptrdiff_t a_ks, const float *B,
                          ptrdiff_t ldb, float *C, ptrdiff_t ldc);

/* The best version this CPU runs ($VOICEBOX_KERNELS=scalar|avx2|avx512 narrows the choice); *name gets
 * "scalar", "avx2" or "avx512" when name is not NULL. */
qt_codec_gemm_fn qt_codec_gemm_get(const char **name);

#define QT_CODEC_GEMM_KC 256 /* k block: an A panel and a B panel stay in L1 */
#define QT_CODEC_GEMM_NC 512 /* n block: a KC x NC block of B stays in L2 */

#endif
