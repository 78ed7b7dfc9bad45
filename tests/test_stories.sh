#!/usr/bin/env bash
# Stories over HTTP (see test_stories.py): CRUD, items, the mix sample by sample, cascades, the upgrade of a
# database written by the first release (tests/data/studio_schema1.db).
set -euo pipefail
build=${1:?usage: test_stories.sh BUILD_DIR}
exec python3 "$(dirname "$0")/test_stories.py" "${VOICEBOX_BIN:-$build/voicebox}" "$build/loadtest"
