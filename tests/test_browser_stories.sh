#!/usr/bin/env bash
# test_browser_stories.sh — the Stories, avatar and package parts of the web UI in Debian's chromium: seeds three
# takes (distinct tones) and a sample through the studio, starts `voicebox serve` on a free port with the
# source tree's web/, then runs tests/browser/stories.test.mjs. No model is needed. Screenshots land in
# <build>/browser-stories-out/. Usage: tests/test_browser_stories.sh BUILD_DIR. Exit 77 = skipped.
set -euo pipefail
BUILD=$(cd "${1:?usage: test_browser_stories.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VOICEBOX_BIN:-$BUILD/voicebox}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
for tool in node npm sox python3 curl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
[ -x "$CHROMIUM" ] || { echo "SKIP: no chromium at $CHROMIUM"; exit 77; }
[ -x "$BIN" ] && [ -x "$BUILD/loadtest" ] || { echo "FAIL: no voicebox or loadtest binary in $BUILD"; exit 1; }
if [ ! -d "$SRC/tests/browser/node_modules/playwright-core" ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$SRC/tests/browser" --no-audit --no-fund >/dev/null ||
        { echo "FAIL: npm ci --prefix tests/browser could not install playwright-core"; exit 1; }
fi
OUT="$BUILD/browser-stories-out"
rm -rf "$OUT"
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/voicebox-browser-stories.XXXXXX)
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
    return 0
}
trap cleanup EXIT

# three 0.5 s takes of one profile, each its own tone, and a 3 s reference sample so the profile exports whole
"$BUILD/loadtest" seed "$TMP/data" 3 >/dev/null 2>&1
python3 - "$TMP/data" <<'PY'
import math, os, sqlite3, struct, sys, wave
data = sys.argv[1]
db = sqlite3.connect(os.path.join(data, "voicebox.db"))
for k, (rel,) in enumerate(db.execute("SELECT audio_path FROM generations ORDER BY text")):
    with wave.open(os.path.join(data, rel), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(24000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * (300 + 170 * k) * i / 24000)))
                               for i in range(12000)))
PY
sox -q -n -r 24000 -c 1 -b 16 "$TMP/sample.wav" synth 3 sine 220 vol 0.3
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$BIN" serve --port "$PORT" --data-dir "$TMP/data" --log-file "$TMP/server.log" --web-dir "$SRC/web" >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do
    curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "FAIL: voicebox serve exited"; cat "$TMP/server.out"; exit 1; }
    sleep 0.1
done
PID_PROFILE=$(curl -fsS "http://127.0.0.1:$PORT/profiles" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
curl -fsS "http://127.0.0.1:$PORT/profiles/$PID_PROFILE/samples" -F file=@"$TMP/sample.wav" -F "reference_text=A steady tone." >/dev/null

rc=0
BASE_URL="http://127.0.0.1:$PORT" OUT_DIR="$OUT" CHROMIUM="$CHROMIUM" TMPDIR="$TMP" \
    timeout 120 node "$SRC/tests/browser/stories.test.mjs" || rc=$?
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
