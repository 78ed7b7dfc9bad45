#!/usr/bin/env bash
# test_browser_stories.sh — the Stories, avatar and package parts of the web UI in Debian's chromium: seeds three
# takes (distinct tones) and a sample through the studio, starts `voicebox serve` on a free port with the
# source tree's web/, then runs tests/browser/stories.test.mjs. No model is needed. Screenshots land in
# <build>/browser-stories-out/. Usage: tests/test_browser_stories.sh BUILD_DIR. Exit 77 = skipped.
set -euo pipefail
. "$(dirname "$0")/browser/env.sh"
browser_need node npm sox python3 curl
[ -x "$BUILD/loadtest" ] || { echo "FAIL: no loadtest binary in $BUILD"; exit 1; }
OUT="$BUILD/browser-stories-out"
rm -rf "$OUT"
mkdir -p "$OUT"
browser_tmp voicebox-browser-stories

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
start_server "$SRC/web"
PID_PROFILE=$(curl -fsS "http://127.0.0.1:$PORT/profiles" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
curl -fsS "http://127.0.0.1:$PORT/profiles/$PID_PROFILE/samples" -F file=@"$TMP/sample.wav" -F "reference_text=A steady tone." >/dev/null

rc=0
BASE_URL="http://127.0.0.1:$PORT" OUT_DIR="$OUT" CHROMIUM="$CHROMIUM" TMPDIR="$TMP" \
    timeout 120 node "$SRC/tests/browser/stories.test.mjs" || rc=$?
stop_server || rc=1
[ "$rc" -eq 0 ] || server_report
exit "$rc"
