#!/usr/bin/env bash
# Streamed generation end to end: local Hub mirror + voicebox serve + POST /generate/stream and the streamed
# /v1/audio/speech (see the .py).
set -euo pipefail
[ -n "${VOICEBOX_GOLDEN_DIR:-}" ] && [ -d "$VOICEBOX_GOLDEN_DIR/tiny-a" ] || { echo "SKIP: no golden fixtures"; exit 77; }
exec python3 "$(dirname "$0")/test_stream.py" "${VOICEBOX_BIN:-$1/voicebox}" "$VOICEBOX_GOLDEN_DIR"
