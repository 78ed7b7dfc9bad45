#!/usr/bin/env bash
# test_blas_kernels.sh — voicebox runs its BLAS products on kernels that fit the CPU (engine/blas.c): an
# OpenBLAS older than the CPU falls back to its generic SSE3 "Prescott" kernels, several times slower, and
# voicebox then restarts itself with OPENBLAS_CORETYPE naming the kernels that fit. Read from `voicebox
# version`, which names the kernels in use.
# 1. On a CPU with AVX2 and FMA the kernels are never the Prescott fallback (on a CPU this OpenBLAS knows,
#    its own choice; on one it does not, SkylakeX or Haswell).
# 2. A core the user names in OPENBLAS_CORETYPE is kept, even the slow one.
set -u
build=${1:?usage: test_blas_kernels.sh BUILD_DIR}
bin=${VOICEBOX_BIN:-$build/voicebox}
[ -x "$bin" ] || { echo "FAIL: no voicebox binary at $bin"; exit 1; }
fails=0
# blas ENV_ARGS...: the kernels `voicebox version` names when run under `env ENV_ARGS...`
blas() { env "$@" "$bin" version | sed -n 's/.*BLAS OpenBLAS \([A-Za-z0-9_]*\).*/\1/p'; }

core=$(blas -u OPENBLAS_CORETYPE)
flags=$(grep -m1 '^flags' /proc/cpuinfo)
if [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]]; then
  if [ -z "$core" ] || [ "$core" = Prescott ]; then
    echo "FAIL: this CPU has AVX2 and FMA, and the BLAS kernels are '$core'"
    fails=$((fails + 1))
  else
    echo "ok   BLAS kernels $core on a CPU with AVX2 and FMA"
  fi
else
  echo "ok   this CPU has no AVX2+FMA: BLAS kernels $core, not checked"
fi

kept=$(blas OPENBLAS_CORETYPE=Prescott)
if [ "$kept" != Prescott ]; then
  echo "FAIL: OPENBLAS_CORETYPE=Prescott gave BLAS kernels '$kept'"
  fails=$((fails + 1))
else
  echo "ok   a core the user names is kept: $kept"
fi
exit $((fails > 0))
