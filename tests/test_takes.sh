#!/usr/bin/env bash
# Takes as records end to end: local Hub mirror + voicebox serve + the HTTP API (see the .py).
set -euo pipefail
[ -n "${VOICEBOX_GOLDEN_DIR:-}" ] && [ -d "$VOICEBOX_GOLDEN_DIR/tiny-a" ] || { echo "SKIP: no golden fixtures"; exit 77; }
exec python3 "$(dirname "$0")/test_takes.py" "${VOICEBOX_BIN:-$1/voicebox}" "$VOICEBOX_GOLDEN_DIR"
