#!/usr/bin/env bash
# test_disk_full.sh — a full drive: 507 for what cannot be stored, deletes still work (tests/test_disk_full.py
# on a small tmpfs it mounts). Needs root and the golden fixtures; exit 77 otherwise. Usage: test_disk_full.sh BUILD_DIR
set -u
build=${1:?usage: test_disk_full.sh BUILD_DIR}
[ -n "${VOICEBOX_GOLDEN_DIR:-}" ] && [ -d "$VOICEBOX_GOLDEN_DIR/tiny-a" ] || { echo "SKIP: no golden fixtures"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: mounting a tmpfs needs root"; exit 77; }
exec timeout 300 python3 "$(dirname "$0")/test_disk_full.py" "${VOICEBOX_BIN:-$build/voicebox}" "$VOICEBOX_GOLDEN_DIR"
