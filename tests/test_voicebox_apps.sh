#!/usr/bin/env bash
# test_voicebox_apps.sh — the Python Voicebox studio's own web app, both builds in ../shared/voicebox-web
# (ca6ed09 = backend 0.1.12, e766c7c = 0.5.0), driven in Debian's chromium against `voicebox serve`, each on
# its own server and data dir, with models from the local Hub mirror (golden tiny-b as 1.7B, tiny-a as 0.6B).
# The server serves the app itself (--web-dir), as the 0.5 app requires. tests/browser/voicebox_apps.test.mjs
# does the clicking. Screenshots land in <build>/voicebox-apps-out/.
# Usage: tests/test_voicebox_apps.sh BUILD_DIR   (env: VOICEBOX_BIN, VOICEBOX_GOLDEN_DIR, VOICEBOX_WEB_APPS). 77 = skipped.
set -euo pipefail

BUILD=$(cd "${1:?usage: test_voicebox_apps.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VOICEBOX_BIN:-$BUILD/voicebox}
GOLDEN=${VOICEBOX_GOLDEN_DIR:-}
APPS=${VOICEBOX_WEB_APPS:-$SRC/../shared/voicebox-web}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ -z "$GOLDEN" ] || [ ! -d "$GOLDEN/tiny-a" ] || [ ! -d "$GOLDEN/tiny-b" ]; then
    echo "SKIP: no golden fixtures (VOICEBOX_GOLDEN_DIR with tiny-a and tiny-b)"
    exit 77
fi
[ -f "$APPS/ca6ed09/index.html" ] && [ -f "$APPS/e766c7c/index.html" ] ||
    { echo "SKIP: no Voicebox web builds at $APPS (VOICEBOX_WEB_APPS)"; exit 77; }
for tool in node espeak-ng sox python3 curl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
[ -x "$CHROMIUM" ] || { echo "SKIP: no chromium at $CHROMIUM"; exit 77; }
[ -d "$SRC/tests/browser/node_modules/playwright-core" ] ||
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$SRC/tests/browser" --no-audit --no-fund >/dev/null ||
    { echo "FAIL: npm ci --prefix tests/browser could not install playwright-core"; exit 1; }

OUT="$BUILD/voicebox-apps-out"
rm -rf "$OUT"
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/voicebox-apps.XXXXXX)
MIRROR_PID=""
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$MIRROR_PID" ] && kill "$MIRROR_PID" 2>/dev/null && wait "$MIRROR_PID" 2>/dev/null
    rm -rf "$TMP"
    return 0
}
trap cleanup EXIT

SAMPLE_TEXT="The quick brown fox jumps over the lazy dog."
espeak-ng -s 150 -w "$TMP/espeak.wav" "$SAMPLE_TEXT"
sox -q "$TMP/espeak.wav" -r 24000 -c 1 -b 16 "$TMP/sample.wav" gain -n -3

python3 "$SRC/tests/hub_mirror.py" --port 0 --quiet --throttle-kbps 8000 \
    --map "Qwen/Qwen3-TTS-12Hz-1.7B-Base=$GOLDEN/tiny-b" \
    --map "Qwen/Qwen3-TTS-12Hz-0.6B-Base=$GOLDEN/tiny-a" >"$TMP/mirror.out" 2>"$TMP/mirror.err" &
MIRROR_PID=$!
for _ in $(seq 100); do [ -s "$TMP/mirror.out" ] && break; sleep 0.1; done
MIRROR_PORT=$(head -n1 "$TMP/mirror.out")
[ -n "$MIRROR_PORT" ] || { echo "FAIL: the Hub mirror did not start"; cat "$TMP/mirror.err"; exit 1; }

rc=0
for app in ca6ed09 e766c7c; do
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    HF_ENDPOINT="http://127.0.0.1:$MIRROR_PORT" HF_HOME="$TMP/hf-$app" \
        "$BIN" serve --port "$PORT" --data-dir "$TMP/data-$app" --log-file "$TMP/server-$app.log" \
        --web-dir "$APPS/$app" >"$TMP/server-$app.out" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 150); do
        curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "FAIL: voicebox serve exited"; cat "$TMP/server-$app.out"; exit 1; }
        sleep 0.1
    done
    echo "== $app: server on port $PORT"
    arc=0
    APP="$app" BASE_URL="http://127.0.0.1:$PORT" OUT_DIR="$OUT" SAMPLE_WAV="$TMP/sample.wav" \
        SAMPLE_TEXT="$SAMPLE_TEXT" CHROMIUM="$CHROMIUM" TMPDIR="$TMP" \
        timeout 150 node "$SRC/tests/browser/voicebox_apps.test.mjs" || arc=$?
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "FAIL: voicebox serve died during the $app session"
        arc=1
    else
        kill -TERM "$SERVER_PID"
        src=0
        wait "$SERVER_PID" || src=$?
        [ "$src" -eq 0 ] || { echo "FAIL: voicebox serve exited $src on SIGTERM"; arc=1; }
    fi
    SERVER_PID=""
    cp "$TMP/server-$app.log" "$OUT/server-$app.log" 2>/dev/null || true
    if [ "$arc" -ne 0 ]; then
        echo "--- last server log lines ($app) ---"
        tail -n 30 "$TMP/server-$app.out"
        rc=1
    fi
done
exit "$rc"
