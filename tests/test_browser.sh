#!/usr/bin/env bash
# test_browser.sh — the web UI in a real browser: starts the local Hub mirror (golden tiny-b as the 1.7B
# release, tiny-a as the 0.6B one), `voicebox serve` on a free port with a temp data dir and HF cache, makes
# reference audio with espeak-ng + sox, then runs tests/browser/studio.test.mjs (playwright-core driving
# Debian's chromium headless). Screenshots land in <build>/browser-out/.
# Usage: tests/test_browser.sh BUILD_DIR   (env: VOICEBOX_BIN, VOICEBOX_GOLDEN_DIR). Exit 77 = skipped.
set -euo pipefail

BUILD=$(cd "${1:?usage: test_browser.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VOICEBOX_BIN:-$BUILD/voicebox}
GOLDEN=${VOICEBOX_GOLDEN_DIR:-}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ -z "$GOLDEN" ] || [ ! -d "$GOLDEN/tiny-a" ] || [ ! -d "$GOLDEN/tiny-b" ]; then
    echo "SKIP: no golden fixtures (VOICEBOX_GOLDEN_DIR with tiny-a and tiny-b)"
    exit 77
fi
for tool in node npm espeak-ng sox python3 curl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
[ -x "$CHROMIUM" ] || { echo "SKIP: no chromium at $CHROMIUM (scripts/install-deps.sh installs it)"; exit 77; }
[ -x "$BIN" ] || { echo "FAIL: no voicebox binary at $BIN"; exit 1; }

if [ ! -d "$SRC/tests/browser/node_modules/playwright-core" ]; then
    echo "installing playwright-core (npm ci; no browser download)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$SRC/tests/browser" --no-audit --no-fund >/dev/null ||
        { echo "FAIL: npm ci --prefix tests/browser could not install playwright-core (is the npm registry reachable?)"; exit 1; }
fi

OUT="$BUILD/browser-out"
rm -rf "$OUT"
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/voicebox-browser.XXXXXX)
MIRROR_PID=""
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$MIRROR_PID" ] && kill "$MIRROR_PID" 2>/dev/null && wait "$MIRROR_PID" 2>/dev/null
    rm -rf "$TMP"
    return 0
}
trap cleanup EXIT

# Reference audio: ~3 s of speech at 24 kHz, and a 1 s cut the server must refuse.
SAMPLE_TEXT="The quick brown fox jumps over the lazy dog."
espeak-ng -s 150 -w "$TMP/espeak.wav" "$SAMPLE_TEXT"
sox -q "$TMP/espeak.wav" -r 24000 -c 1 -b 16 "$TMP/sample.wav" gain -n -3
sox -q "$TMP/sample.wav" "$TMP/short.wav" trim 0 1
echo "sample: $(soxi -D "$TMP/sample.wav") s, short: $(soxi -D "$TMP/short.wav") s"

# The Hub mirror, throttled so the progress bar has steps to show.
python3 "$SRC/tests/hub_mirror.py" --port 0 --quiet --throttle-kbps 6000 \
    --map "Qwen/Qwen3-TTS-12Hz-1.7B-Base=$GOLDEN/tiny-b" \
    --map "Qwen/Qwen3-TTS-12Hz-0.6B-Base=$GOLDEN/tiny-a" >"$TMP/mirror.out" 2>"$TMP/mirror.err" &
MIRROR_PID=$!
for _ in $(seq 100); do [ -s "$TMP/mirror.out" ] && break; sleep 0.1; done
MIRROR_PORT=$(head -n1 "$TMP/mirror.out")
[ -n "$MIRROR_PORT" ] || { echo "FAIL: the Hub mirror did not start"; cat "$TMP/mirror.err"; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
HF_ENDPOINT="http://127.0.0.1:$MIRROR_PORT" HF_HOME="$TMP/hf" \
    "$BIN" serve --port "$PORT" --data-dir "$TMP/data" --log-file "$TMP/server.log" --web-dir "$SRC/web" \
    >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do
    curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "FAIL: voicebox serve exited"; cat "$TMP/server.out"; exit 1; }
    sleep 0.1
done
echo "server on port $PORT, Hub mirror on $MIRROR_PORT"

rc=0
BASE_URL="http://127.0.0.1:$PORT" OUT_DIR="$OUT" SAMPLE_WAV="$TMP/sample.wav" SHORT_WAV="$TMP/short.wav" \
    SAMPLE_TEXT="$SAMPLE_TEXT" CHROMIUM="$CHROMIUM" TMPDIR="$TMP" \
    timeout 280 node "$SRC/tests/browser/studio.test.mjs" || rc=$?

# The server must have survived the session and must stop cleanly.
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "FAIL: voicebox serve died during the browser session"
    rc=1
else
    kill -TERM "$SERVER_PID"
    src=0
    wait "$SERVER_PID" || src=$?
    SERVER_PID=""
    [ "$src" -eq 0 ] || { echo "FAIL: voicebox serve exited $src on SIGTERM"; rc=1; }
fi
if [ "$rc" -ne 0 ]; then
    if grep -q 'Sanitizer' "$TMP/server.out"; then
        echo "--- sanitizer report of voicebox serve ---"
        sed -n '/^==[0-9]*==ERROR/,/^SUMMARY/p' "$TMP/server.out" | head -n 80
    else
        echo "--- last server log lines ---"
        tail -n 40 "$TMP/server.out"
    fi
fi
cp "$TMP/server.log" "$OUT/server.log" 2>/dev/null || true
exit "$rc"
