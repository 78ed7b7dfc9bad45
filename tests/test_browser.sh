#!/usr/bin/env bash
# test_browser.sh — the web UI in a real browser: starts the local Hub mirror (golden tiny-b as the 1.7B
# release, tiny-a as the 0.6B one), `voicebox serve` on a free port with a temp data dir and HF cache, makes
# reference audio with espeak-ng + sox, then runs tests/browser/studio.test.mjs (playwright-core driving
# Debian's chromium headless). Screenshots land in <build>/browser-out/.
# Usage: tests/test_browser.sh BUILD_DIR   (env: VOICEBOX_BIN, VOICEBOX_GOLDEN_DIR). Exit 77 = skipped.
set -euo pipefail
. "$(dirname "$0")/browser/env.sh"

browser_need_golden
browser_need node npm espeak-ng sox python3 curl
OUT="$BUILD/browser-out"
rm -rf "$OUT"
mkdir -p "$OUT"
browser_tmp voicebox-browser

# Reference audio: ~3 s of speech at 24 kHz, and a 1 s cut the server must refuse.
speech_sample
sox -q "$TMP/sample.wav" "$TMP/short.wav" trim 0 1
echo "sample: $(soxi -D "$TMP/sample.wav") s, short: $(soxi -D "$TMP/short.wav") s"

# The Hub mirror, throttled so the progress bar has steps to show.
start_mirror --throttle-kbps 6000 --map "Qwen/Qwen3-TTS-12Hz-1.7B-Base=$GOLDEN/tiny-b" \
    --map "Qwen/Qwen3-TTS-12Hz-0.6B-Base=$GOLDEN/tiny-a"
start_server "$SRC/web"
echo "server on port $PORT, Hub mirror on $MIRROR_PORT"

rc=0
BASE_URL="http://127.0.0.1:$PORT" OUT_DIR="$OUT" SAMPLE_WAV="$TMP/sample.wav" SHORT_WAV="$TMP/short.wav" \
    SAMPLE_TEXT="$SAMPLE_TEXT" CHROMIUM="$CHROMIUM" TMPDIR="$TMP" \
    timeout 280 node "$SRC/tests/browser/studio.test.mjs" || rc=$?
stop_server || rc=1
[ "$rc" -eq 0 ] || server_report
cp "$TMP/server.log" "$OUT/server.log" 2>/dev/null || true
exit "$rc"
