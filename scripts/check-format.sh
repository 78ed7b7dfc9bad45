#!/usr/bin/env bash
# Fails when any C source or header in the tree differs from what clang-format (.clang-format) makes of it.
# Fix with:  git ls-files '*.c' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src tests tools -name '*.[ch]')
if ! echo "$files" | xargs clang-format --dry-run --Werror 2>/tmp/voicebox-format.$$; then
  grep -m 20 'error:' /tmp/voicebox-format.$$ || true
  n=$(grep -c 'error:' /tmp/voicebox-format.$$ || true)
  rm -f /tmp/voicebox-format.$$
  echo "check-format: $n lines differ from .clang-format; run: git ls-files '*.c' '*.h' | xargs clang-format -i" >&2
  exit 1
fi
rm -f /tmp/voicebox-format.$$
echo "check-format: $(echo "$files" | wc -l) files match .clang-format"
