#!/usr/bin/env bash
# test_browser_transcribe.sh — the Transcribe button in a real browser: the local Hub mirror serves the tiny
# random Whisper fixture (tests/data/whisper/model-80) as openai/whisper-base, `voicebox serve` runs on a free
# port with a temp data dir and HF cache, then tests/browser/transcribe.test.mjs (playwright-core driving
# Debian's chromium headless). Screenshots land in <build>/browser-out/.
# Usage: tests/test_browser_transcribe.sh BUILD_DIR   (env: VOICEBOX_BIN). Exit 77 = skipped.
set -euo pipefail
. "$(dirname "$0")/browser/env.sh"
FX="$SRC/tests/data/whisper"

browser_need node npm python3 curl
OUT="$BUILD/browser-out"
mkdir -p "$OUT"
browser_tmp voicebox-browser-transcribe

# the mirror serves plain files: the fixture with its tokenizer links resolved
mkdir -p "$TMP/whisper-base"
cp -L "$FX/model-80/"{config.json,generation_config.json,preprocessor_config.json,tokenizer_config.json} \
    "$FX/model-80/"{vocab.json,merges.txt,model.safetensors} "$TMP/whisper-base/"
start_mirror --map "openai/whisper-base=$TMP/whisper-base"
start_server "$SRC/web"

rc=0
BASE_URL="http://127.0.0.1:$PORT" OUT_DIR="$OUT" SPEECH_WAV="$FX/jfk.wav" CHROMIUM="$CHROMIUM" TMPDIR="$TMP" \
    timeout 120 node "$SRC/tests/browser/transcribe.test.mjs" || rc=$?
stop_server || rc=1
[ "$rc" -eq 0 ] || server_report
exit "$rc"
