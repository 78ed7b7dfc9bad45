#!/usr/bin/env bash
# test_browser_transcribe.sh — the Transcribe button in a real browser: the local Hub mirror serves the tiny
# random Whisper fixture (tests/data/whisper/model-80) as openai/whisper-base, `voicebox serve` runs on a free
# port with a temp data dir and HF cache, then tests/browser/transcribe.test.mjs (playwright-core driving
# Debian's chromium headless). Screenshots land in <build>/browser-out/.
# Usage: tests/test_browser_transcribe.sh BUILD_DIR   (env: VOICEBOX_BIN). Exit 77 = skipped.
set -euo pipefail

BUILD=$(cd "${1:?usage: test_browser_transcribe.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VOICEBOX_BIN:-$BUILD/voicebox}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
FX="$SRC/tests/data/whisper"

for tool in node npm python3 curl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
[ -x "$CHROMIUM" ] || { echo "SKIP: no chromium at $CHROMIUM (scripts/install-deps.sh installs it)"; exit 77; }
[ -x "$BIN" ] || { echo "FAIL: no voicebox binary at $BIN"; exit 1; }
if [ ! -d "$SRC/tests/browser/node_modules/playwright-core" ]; then
    echo "installing playwright-core (npm ci; no browser download)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$SRC/tests/browser" --no-audit --no-fund >/dev/null ||
        { echo "FAIL: npm ci --prefix tests/browser could not install playwright-core"; exit 1; }
fi

OUT="$BUILD/browser-out"
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/voicebox-browser-transcribe.XXXXXX)
MIRROR_PID=""
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$MIRROR_PID" ] && kill "$MIRROR_PID" 2>/dev/null && wait "$MIRROR_PID" 2>/dev/null
    rm -rf "$TMP"
    return 0
}
trap cleanup EXIT

# the mirror serves plain files: the fixture with its tokenizer links resolved
mkdir -p "$TMP/whisper-base"
cp -L "$FX/model-80/"{config.json,generation_config.json,preprocessor_config.json,tokenizer_config.json} \
    "$FX/model-80/"{vocab.json,merges.txt,model.safetensors} "$TMP/whisper-base/"
python3 "$SRC/tests/hub_mirror.py" --port 0 --quiet --map "openai/whisper-base=$TMP/whisper-base" \
    >"$TMP/mirror.out" 2>"$TMP/mirror.err" &
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

rc=0
BASE_URL="http://127.0.0.1:$PORT" OUT_DIR="$OUT" SPEECH_WAV="$FX/jfk.wav" CHROMIUM="$CHROMIUM" TMPDIR="$TMP" \
    timeout 120 node "$SRC/tests/browser/transcribe.test.mjs" || rc=$?

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
[ "$rc" -eq 0 ] || tail -n 30 "$TMP/server.out"
exit "$rc"
