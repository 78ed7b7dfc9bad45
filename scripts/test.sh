#!/usr/bin/env bash
# Checks the formatting, then builds voicebox three ways and runs every test:
#   build/       release, -Werror           -> all CTest tests
#   build-asan/  AddressSanitizer + UBSan   -> all CTest tests again, then coverage per layer (gcov)
#   build-fuzz/  clang + libFuzzer          -> each fuzz target for FUZZ_SECONDS (default 20)
# Installs the Debian packages first (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-20}

echo "== formatting (.clang-format)"
bash scripts/check-format.sh

echo "== release build (-Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVOICEBOX_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

echo "== AddressSanitizer + UBSan build, with coverage counts"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVOICEBOX_WERROR=ON -DVOICEBOX_SANITIZE=ON \
  -DVOICEBOX_COVERAGE=ON >/dev/null
cmake --build build-asan -j "$jobs"
find build-asan -name '*.gcda' -delete # counts of this run only
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$jobs" -E "${ASAN_EXCLUDE:-^$}")
echo "== coverage by layer (the ASan build's tests)"
bash scripts/coverage.sh build-asan

echo "== fuzz targets (${fuzz_seconds}s each)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DVOICEBOX_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$jobs"
# fuzz targets that start from the golden fixtures (vocabulary, models) find them here, as the tests do
golden=$(sed -n 's/^VOICEBOX_GOLDEN_DIR:PATH=//p' build/CMakeCache.txt)
[ -n "$golden" ] && export VOICEBOX_GOLDEN_DIR="$golden"
# leaks inside third-party decoders (libvorbis via libsndfile) are not ours: tests/fuzz/lsan.supp names them
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp"
for f in build-fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  echo "-- $name"
  "$f" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$corpus" 2>&1 | tail -n 3
  rm -rf "$corpus"
done
echo "== all tests passed"
