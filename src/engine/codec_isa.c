/* codec_isa.c — see codec_isa.h. Asks the CPU on every call; the callers keep what they chose. */
#include "engine/codec_isa.h"

#include <stdlib.h>
#include <string.h>

qt_isa qt_codec_isa(void)
{
    const char *want = getenv("VOICEBOX_KERNELS");
    if (want && !strcmp(want, "scalar")) return QT_ISA_SCALAR;
#if defined(__x86_64__)
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    if (avx512 && !(want && !strcmp(want, "avx2"))) return QT_ISA_AVX512;
    if (avx2) return QT_ISA_AVX2;
#endif
    return QT_ISA_SCALAR;
}
