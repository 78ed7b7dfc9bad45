# env.sh — the start-up every browser test shares, sourced (not run) by tests/test_browser.sh,
# test_browser_transcribe.sh, test_browser_stories.sh and test_voicebox_apps.sh: the checks that skip (exit 77)
# or fail before anything starts, playwright-core, a temp dir cleaned on exit, the local Hub mirror, `voicebox
# serve` on a free port, and its clean stop. What a test drives, and with which files, stays in its own script.
# Sourcing it with the script's BUILD_DIR argument sets BUILD, SRC, BIN and CHROMIUM; it starts nothing.

BUILD=$(cd "${1:?usage: $(basename "$0") BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${VOICEBOX_BIN:-$BUILD/voicebox}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
TMP=""
MIRROR_PID=""
MIRROR_PORT=""
SERVER_PID=""
PORT=""

# browser_need_golden: skip without the golden tiny-a and tiny-b fixtures (the models the mirror serves).
browser_need_golden() {
    GOLDEN=${VOICEBOX_GOLDEN_DIR:-}
    if [ -z "$GOLDEN" ] || [ ! -d "$GOLDEN/tiny-a" ] || [ ! -d "$GOLDEN/tiny-b" ]; then
        echo "SKIP: no golden fixtures (VOICEBOX_GOLDEN_DIR with tiny-a and tiny-b)"
        exit 77
    fi
}

# browser_need TOOL...: skip without any of the tools or chromium, fail without the voicebox binary, and install
# playwright-core (pinned in tests/browser/package-lock.json; no browser download) once.
browser_need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"; exit 77; }
    done
    [ -x "$CHROMIUM" ] || { echo "SKIP: no chromium at $CHROMIUM (scripts/install-deps.sh installs it)"; exit 77; }
    [ -x "$BIN" ] || { echo "FAIL: no voicebox binary at $BIN"; exit 1; }
    if [ ! -d "$SRC/tests/browser/node_modules/playwright-core" ]; then
        echo "installing playwright-core (npm ci; no browser download)"
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$SRC/tests/browser" --no-audit --no-fund >/dev/null ||
            { echo "FAIL: npm ci --prefix tests/browser could not install playwright-core (is the npm registry reachable?)"; exit 1; }
    fi
}

browser_cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$MIRROR_PID" ] && kill "$MIRROR_PID" 2>/dev/null && wait "$MIRROR_PID" 2>/dev/null
    [ -n "$TMP" ] && rm -rf "$TMP"
    return 0
}

# browser_tmp NAME: TMP, a fresh /tmp/NAME.XXXXXX that goes, with the server and mirror, when the script exits.
browser_tmp() {
    TMP=$(mktemp -d "/tmp/$1.XXXXXX")
    trap browser_cleanup EXIT
}

# speech_sample: $TMP/sample.wav, ~3 s of SAMPLE_TEXT spoken by espeak-ng, as 24 kHz mono 16-bit.
SAMPLE_TEXT="The quick brown fox jumps over the lazy dog."
speech_sample() {
    espeak-ng -s 150 -w "$TMP/espeak.wav" "$SAMPLE_TEXT"
    sox -q "$TMP/espeak.wav" -r 24000 -c 1 -b 16 "$TMP/sample.wav" gain -n -3
}

# start_mirror ARG...: tests/hub_mirror.py on a free port with these arguments (--map REPO=DIR, --throttle-kbps);
# sets MIRROR_PID and MIRROR_PORT, which start_server then points the studio at.
start_mirror() {
    python3 "$SRC/tests/hub_mirror.py" --port 0 --quiet "$@" >"$TMP/mirror.out" 2>"$TMP/mirror.err" &
    MIRROR_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/mirror.out" ] && break; sleep 0.1; done
    MIRROR_PORT=$(head -n1 "$TMP/mirror.out")
    [ -n "$MIRROR_PORT" ] || { echo "FAIL: the Hub mirror did not start"; cat "$TMP/mirror.err"; exit 1; }
}

# start_server WEB_DIR [TAG]: `voicebox serve` on a free port with WEB_DIR, its data in $TMP/data$TAG, its HF
# cache in $TMP/hf$TAG (models from the mirror if one runs), its log in $TMP/server$TAG.log and its output in
# $TMP/server$TAG.out; returns once /health answers and sets PORT and SERVER_PID.
start_server() {
    local web=$1 tag=${2:-}
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    local env=(HF_HOME="$TMP/hf$tag")
    [ -z "$MIRROR_PORT" ] || env+=(HF_ENDPOINT="http://127.0.0.1:$MIRROR_PORT")
    env "${env[@]}" "$BIN" serve --port "$PORT" --data-dir "$TMP/data$tag" --log-file "$TMP/server$tag.log" \
        --web-dir "$web" >"$TMP/server$tag.out" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 150); do
        curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "FAIL: voicebox serve exited"; cat "$TMP/server$tag.out"; exit 1; }
        sleep 0.1
    done
}

# stop_server: the server must have survived the session and must stop cleanly on SIGTERM; non-zero (with the
# reason) if not.
stop_server() {
    local src=0
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "FAIL: voicebox serve died during the browser session"
        src=1
    else
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" || src=$?
        [ "$src" -eq 0 ] || echo "FAIL: voicebox serve exited $src on SIGTERM"
    fi
    SERVER_PID=""
    return "$src"
}

# server_report [TAG]: after a failure, the sanitizer report of the server if it wrote one, else its last lines.
server_report() {
    local out="$TMP/server${1:-}.out"
    if grep -q 'Sanitizer' "$out"; then
        echo "--- sanitizer report of voicebox serve (server${1:-}.out) ---"
        sed -n '/^==[0-9]*==ERROR/,/^SUMMARY/p' "$out" | head -n 80
    else
        echo "--- last lines of server${1:-}.out ---"
        tail -n 40 "$out"
    fi
}
