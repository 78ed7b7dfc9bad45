#!/usr/bin/env bash
# .voicebox.zip export and import over HTTP (see test_packages.py).
set -euo pipefail
build=${1:?usage: test_packages.sh BUILD_DIR}
exec python3 "$(dirname "$0")/test_packages.py" "${VOICEBOX_BIN:-$build/voicebox}" "$build/loadtest"
