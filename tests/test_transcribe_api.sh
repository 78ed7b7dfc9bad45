#!/usr/bin/env bash
# test_transcribe_api.sh — POST /transcribe end to end: the real `voicebox serve`, tests/hub_mirror.py serving
# the tiny random Whisper fixture (tests/data/whisper/model-80) as openai/whisper-base. 409 before the model
# is downloaded; whisper-base in /models/status, downloaded through /models/download; then the jfk clip gives
# 200 {text, duration} (the same text as `voicebox transcribe` on the file); bad input (not audio, silence,
# 0 bytes, over the upload limit, an unknown language or model, no file) gets a clear 4xx; the server keeps
# answering /health meanwhile and afterwards and exits 0 on SIGTERM.
# Usage: test_transcribe_api.sh BUILD_DIR   (env VOICEBOX_BIN)
set -uo pipefail

build=${1:-build}
bin=${VOICEBOX_BIN:-$build/voicebox}
here=$(cd "$(dirname "$0")" && pwd)
fx="$here/data/whisper"
for tool in curl python3 sox; do
  command -v $tool >/dev/null || { echo "$tool absent: skipped"; exit 77; }
done
[ -x "$bin" ] || { echo "FAIL: no voicebox binary at $bin"; exit 1; }

tmp=$(mktemp -d /tmp/test_transcribe_api.XXXXXX)
pid="" mirror_pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$mirror_pid" ] && kill "$mirror_pid" 2>/dev/null && wait "$mirror_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

# the mirror serves plain files: the fixture with its tokenizer links resolved
mkdir -p "$tmp/whisper-base"
cp -L "$fx/model-80/"{config.json,generation_config.json,preprocessor_config.json,tokenizer_config.json} \
  "$fx/model-80/"{vocab.json,merges.txt,model.safetensors} "$tmp/whisper-base/"
python3 "$here/hub_mirror.py" --port 0 --map "openai/whisper-base=$tmp/whisper-base" >"$tmp/mirror.port" \
  2>"$tmp/mirror.log" &
mirror_pid=$!
for _ in $(seq 100); do
  [ -s "$tmp/mirror.port" ] && break
  sleep 0.1
done
export HF_ENDPOINT="http://127.0.0.1:$(head -n1 "$tmp/mirror.port")"
export HF_HOME="$tmp/hf"
unset HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_HUB_OFFLINE XDG_CACHE_HOME

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
"$bin" serve --port "$port" --data-dir "$tmp/data" --log-file "$tmp/server.log" --web-dir "$tmp/no-web" \
  >>"$tmp/server.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  curl -s -o /dev/null "$base/health" && break
  sleep 0.05
done

# req METHOD PATH [curl args...]: sets $status; the body is in $tmp/body
req() {
  local method=$1 path=$2
  shift 2
  status=$(curl -s -o "$tmp/body" -w '%{http_code}' -X "$method" "$@" "$base$path")
}
detail() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("detail",""))' "$tmp/body" 2>/dev/null; }
expect() { # expect STATUS WORDS WHAT: the status, and the detail holding WORDS
  local want=$1 words=$2 what=$3
  [ "$status" = "$want" ] || { fail "$what: status $status, expected $want: $(head -c 300 "$tmp/body")"; return; }
  [ -z "$words" ] || detail | grep -qi -- "$words" || fail "$what: detail '$(detail)' lacks '$words'"
}

wav="$fx/jfk.wav"
req POST /transcribe -F "file=@$wav"
expect 409 "whisper-base" "before the download"

req GET /models/status
python3 - "$tmp/body" <<'EOF' || fail "/models/status lacks the Whisper models: $(head -c 400 "$tmp/body")"
import json, sys
names = {m["model_name"]: m for m in json.load(open(sys.argv[1]))["models"]}
for n in ("whisper-base", "whisper-small", "whisper-medium", "whisper-large", "whisper-turbo"):
    assert n in names, n
assert names["whisper-large"]["repo_id"] == "openai/whisper-large-v3"
assert names["whisper-turbo"]["repo_id"] == "openai/whisper-large-v3-turbo"
assert not names["whisper-base"]["downloaded"]
EOF

req POST /models/download -H 'Content-Type: application/json' -d '{"model_name": "whisper-base"}'
[ "$status" = 200 ] || fail "download: $status $(cat "$tmp/body")"
curl -sN --max-time 60 "$base/models/progress/whisper-base" >"$tmp/sse"
grep -q '"status": *"complete"' "$tmp/sse" || fail "no complete progress event: $(tail -c 300 "$tmp/sse")"

# the transcription, while /health keeps answering
req POST /transcribe -F "file=@$wav" -F language=en &
tpid=$!
ms=$(curl -s -o /dev/null -w '%{time_total}' "$base/health" | awk '{printf "%d", $1 * 1000}')
[ "$ms" -lt 1000 ] || fail "/health took $ms ms during a transcription"
wait $tpid
status=$(curl -s -o "$tmp/body" -w '%{http_code}' -F "file=@$wav" -F language=en "$base/transcribe")
[ "$status" = 200 ] || fail "transcribe: $status $(cat "$tmp/body")"
cli_text=$("$bin" transcribe --model "$tmp/whisper-base" --language en "$wav")
python3 - "$tmp/body" "$cli_text" <<'EOF' || fail "transcribe answer: $(head -c 300 "$tmp/body")"
import json, sys
j = json.load(open(sys.argv[1]))
assert set(j) == {"text", "duration"}, j
assert abs(j["duration"] - 4.0) < 0.01, j["duration"]
assert j["text"] == sys.argv[2], (j["text"], sys.argv[2])
assert len(j["text"]) > 0
EOF
req GET /models/status
grep -q '"model_name": *"whisper-base"[^}]*"loaded": *true' "$tmp/body" ||
  python3 -c 'import json,sys; m=[x for x in json.load(open(sys.argv[1]))["models"] if x["model_name"]=="whisper-base"][0]; assert m["loaded"] and m["downloaded"]' "$tmp/body" ||
  fail "whisper-base not loaded in /models/status: $(head -c 400 "$tmp/body")"

# bad input
head -c 5000 /dev/urandom >"$tmp/noise.bin"
req POST /transcribe -F "file=@$tmp/noise.bin"
expect 415 "decoded as audio" "not audio"
sox -n -r 16000 -c 1 -b 16 "$tmp/silence.wav" trim 0 3
req POST /transcribe -F "file=@$tmp/silence.wav"
expect 422 "silent" "silence"
: >"$tmp/empty.wav"
req POST /transcribe -F "file=@$tmp/empty.wav"
expect 422 "empty" "0 bytes"
head -c $((51 * 1024 * 1024)) /dev/zero >"$tmp/big.wav"
req POST /transcribe -F "file=@$tmp/big.wav"
[ "$status" = 413 ] || fail "over the upload limit: status $status"
req POST /transcribe -F "file=@$wav" -F language=xx
expect 422 "language" "unknown language"
req POST /transcribe -F "file=@$wav" -F "language=not a code"
expect 422 "language" "malformed language"
req POST /transcribe -F "file=@$wav" -F model=qwen-tts-1.7B
expect 422 "not a Whisper model" "a TTS model as the model"
req POST /transcribe -F "language=en"
expect 422 "file" "no file"

req GET /health
[ "$status" = 200 ] || fail "/health after the bad input: $status"
req POST /transcribe -F "file=@$wav" -F language=en
[ "$status" = 200 ] || fail "transcribe after the bad input: $status"

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
[ "$rc" = 0 ] || fail "the server exited with $rc after SIGTERM: $(tail -n 20 "$tmp/server.out")"
[ $fails = 0 ] && echo "all transcribe API checks passed"
[ $fails = 0 ]
