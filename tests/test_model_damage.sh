#!/usr/bin/env bash
# test_model_damage.sh — a downloaded model with damaged files: a clear load error, /models/status and
# `voicebox models list` say so, a download repairs it (tests/test_model_damage.py against the Hub mirror).
set -u
[ -n "${VOICEBOX_GOLDEN_DIR:-}" ] && [ -d "$VOICEBOX_GOLDEN_DIR/tiny-a" ] || { echo "SKIP: no golden fixtures"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
exec timeout 300 python3 "$(dirname "$0")/test_model_damage.py" "${VOICEBOX_BIN:-$1/voicebox}" "$VOICEBOX_GOLDEN_DIR"
