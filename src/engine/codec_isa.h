/* codec_isa.h — which SIMD level the codec's activations (codec_elu.c, codec_snake.c) run at.
 *
 * One answer for both, so the two never disagree about the CPU or about $VOICEBOX_KERNELS. Not for the
 * products (codec_gemm.c) nor the talker's kernels (kernels.c): they check their own instruction sets.
 */
#ifndef QT_CODEC_ISA_H
#define QT_CODEC_ISA_H

typedef enum { QT_ISA_SCALAR, QT_ISA_AVX2, QT_ISA_AVX512 } qt_isa;

/* The best level this CPU runs: AVX-512 needs F and DQ (and AVX2), AVX2 needs FMA too.
 * $VOICEBOX_KERNELS=scalar or avx2 caps it there (for tests and benches); any other value leaves it. */
qt_isa qt_codec_isa(void);

#endif
