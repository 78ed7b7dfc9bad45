#!/usr/bin/env bash
# Crash consistency: kill -9 at random moments of a random workload, restart, check (see the .py). Bounded:
# ROUNDS (20) rounds or SECONDS_BOUND (60) seconds.
set -euo pipefail
[ -n "${VOICEBOX_GOLDEN_DIR:-}" ] && [ -d "$VOICEBOX_GOLDEN_DIR/tiny-a" ] || { echo "SKIP: no golden fixtures"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
exec python3 "$(dirname "$0")/test_crash_loop.py" "${VOICEBOX_BIN:-$1/voicebox}" "$VOICEBOX_GOLDEN_DIR"
