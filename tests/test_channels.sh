#!/usr/bin/env bash
# Audio channels over HTTP (see test_channels.py).
set -euo pipefail
build=${1:?usage: test_channels.sh BUILD_DIR}
exec python3 "$(dirname "$0")/test_channels.py" "${VOICEBOX_BIN:-$build/voicebox}"
