/* blas.c — which OpenBLAS kernels run the engine's BLAS products (prefill, speaker and codec encoders, mel,
 * Whisper), and which would fit this CPU when the library did not recognise it.
 *
 * OpenBLAS picks its kernels from the CPU's model number when it loads. A release older than the CPU (Debian
 * 12 ships 0.3.21; it does not know Emerald Rapids, model 207) falls back to its SSE3 "Prescott" kernels:
 * measured on such a CPU, one-thread sgemm 1024^3 ran 21.8 GFLOP/s against 108 with the SkylakeX kernels,
 * and the prefill of a 0.6B bench took 2.5 s against 0.76. Newer releases choose by the CPU's features
 * instead; this does the same, and the caller restarts the process with OPENBLAS_CORETYPE set (the library
 * reads it only when it loads). Only the Prescott fallback is overridden: a core the library chose by name
 * is trusted. */
#include "engine/qt.h"

#include <cblas.h>
#include <string.h>

const char *qt_blas_kernels(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

const char *qt_blas_kernels_fit(void)
{
    if (strcmp(qt_blas_kernels(), "Prescott")) return NULL;
    /* the instruction sets OpenBLAS's SkylakeX and Haswell kernels are built for */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}
