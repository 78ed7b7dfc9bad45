#!/usr/bin/env bash
# Installs the Debian packages, builds voicebox and starts the studio on http://127.0.0.1:17493.
# Extra arguments go to `voicebox serve` (e.g. --port 8080 --data-dir ~/voicebox-data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
exec build/voicebox serve "$@"
