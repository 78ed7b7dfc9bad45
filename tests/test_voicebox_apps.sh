#!/usr/bin/env bash
# test_voicebox_apps.sh — the Python Voicebox studio's own web app, both builds in ../shared/voicebox-web
# (ca6ed09 = backend 0.1.12, e766c7c = 0.5.0), driven in Debian's chromium against `voicebox serve`, each on
# its own server and data dir, with models from the local Hub mirror (golden tiny-b as 1.7B, tiny-a as 0.6B).
# The server serves the app itself (--web-dir), as the 0.5 app requires. tests/browser/voicebox_apps.test.mjs
# does the clicking. Screenshots land in <build>/voicebox-apps-out/.
# Usage: tests/test_voicebox_apps.sh BUILD_DIR   (env: VOICEBOX_BIN, VOICEBOX_GOLDEN_DIR, VOICEBOX_WEB_APPS). 77 = skipped.
set -euo pipefail
. "$(dirname "$0")/browser/env.sh"
APPS=${VOICEBOX_WEB_APPS:-$SRC/../shared/voicebox-web}

browser_need_golden
[ -f "$APPS/ca6ed09/index.html" ] && [ -f "$APPS/e766c7c/index.html" ] ||
    { echo "SKIP: no Voicebox web builds at $APPS (VOICEBOX_WEB_APPS)"; exit 77; }
browser_need node espeak-ng sox python3 curl
OUT="$BUILD/voicebox-apps-out"
rm -rf "$OUT"
mkdir -p "$OUT"
browser_tmp voicebox-apps

speech_sample
start_mirror --throttle-kbps 8000 --map "Qwen/Qwen3-TTS-12Hz-1.7B-Base=$GOLDEN/tiny-b" \
    --map "Qwen/Qwen3-TTS-12Hz-0.6B-Base=$GOLDEN/tiny-a"

rc=0
for app in ca6ed09 e766c7c; do
    start_server "$APPS/$app" "-$app"
    echo "== $app: server on port $PORT"
    arc=0
    APP="$app" BASE_URL="http://127.0.0.1:$PORT" OUT_DIR="$OUT" SAMPLE_WAV="$TMP/sample.wav" \
        SAMPLE_TEXT="$SAMPLE_TEXT" CHROMIUM="$CHROMIUM" TMPDIR="$TMP" \
        timeout 150 node "$SRC/tests/browser/voicebox_apps.test.mjs" || arc=$?
    stop_server || arc=1
    cp "$TMP/server-$app.log" "$OUT/server-$app.log" 2>/dev/null || true
    if [ "$arc" -ne 0 ]; then
        server_report "-$app"
        rc=1
    fi
done
exit "$rc"
