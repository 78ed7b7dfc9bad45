#!/usr/bin/env bash
# test_http_hardening.sh — request smuggling, slow clients and connection floods against the real front door
# (tests/test_http_hardening.py drives `voicebox serve` on raw sockets). Usage: test_http_hardening.sh BUILD_DIR
set -u
build=${1:?usage: test_http_hardening.sh BUILD_DIR}
bin=${VOICEBOX_BIN:-$build/voicebox}
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
[ -x "$bin" ] || { echo "FAIL: no voicebox binary at $bin"; exit 1; }
exec timeout 300 python3 "$(dirname "$0")/test_http_hardening.py" "$bin"
