#!/usr/bin/env bash
# test_models_download.sh — `voicebox models pull|list|rm` against tests/hub_mirror.py serving the golden tiny
# models as the two Qwen3-TTS Base repos: cache layout, checksums, resume after a dropped connection and after
# a killed process, one download at a time, offline use once downloaded, removal.
# Usage: test_models_download.sh BUILD_DIR   (env VOICEBOX_GOLDEN_DIR, VOICEBOX_BIN)
set -uo pipefail

build=${1:-build}
bin=${VOICEBOX_BIN:-$build/voicebox}
golden=${VOICEBOX_GOLDEN_DIR:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$golden" ] || [ ! -d "$golden/tiny-a" ] || [ ! -d "$golden/tiny-b" ]; then
  echo "golden fixtures absent: skipped"
  exit 77
fi
command -v python3 >/dev/null || { echo "python3 absent: skipped"; exit 77; }
[ -x "$bin" ] || { echo "FAIL: no voicebox binary at $bin"; exit 1; }

tmp=$(mktemp -d /tmp/test_models_download.XXXXXX)
mirror_pid=""
stop_mirror() {
  if [ -n "$mirror_pid" ]; then
    kill "$mirror_pid" 2>/dev/null
    wait "$mirror_pid" 2>/dev/null
    mirror_pid=""
  fi
}
cleanup() {
  stop_mirror
  rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

big=Qwen/Qwen3-TTS-12Hz-1.7B-Base
small=Qwen/Qwen3-TTS-12Hz-0.6B-Base
# start_mirror LOGNAME [mirror options...]: sets $port and $mirror_pid
start_mirror() {
  local log=$1
  shift
  rm -f "$tmp/port"
  python3 "$here/hub_mirror.py" --port 0 --map "$big=$golden/tiny-b" --map "$small=$golden/tiny-a" "$@" \
    >"$tmp/port" 2>"$tmp/$log" &
  mirror_pid=$!
  for _ in $(seq 100); do
    [ -s "$tmp/port" ] && break
    sleep 0.1
  done
  port=$(head -n1 "$tmp/port")
  [ -n "$port" ] || { echo "FAIL: the mirror did not start"; cat "$tmp/$log"; exit 1; }
  export HF_ENDPOINT="http://127.0.0.1:$port"
}

export HF_HOME="$tmp/hf"
unset HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_HUB_OFFLINE XDG_CACHE_HOME
cache="$HF_HOME/hub"
dir_big="$cache/models--Qwen--Qwen3-TTS-12Hz-1.7B-Base"
dir_small="$cache/models--Qwen--Qwen3-TTS-12Hz-0.6B-Base"

# The snapshot must be the golden release file for file, every file a relative link to blobs/<etag>.
check_layout() {
  local repo_dir=$1 src=$2 commit=$3
  local ref
  ref=$(cat "$repo_dir/refs/main" 2>/dev/null)
  [ "$ref" = "$commit" ] || fail "$repo_dir/refs/main: expected $commit, got '$ref'"
  local snap="$repo_dir/snapshots/$commit"
  for rel in config.json generation_config.json merges.txt vocab.json tokenizer_config.json model.safetensors \
    speech_tokenizer/config.json speech_tokenizer/model.safetensors speech_tokenizer/preprocessor_config.json; do
    local link="$snap/$rel" want="$src/$rel"
    # the golden model dirs hold speech_tokenizer as a link that a copy may have flattened into a file
    [[ $rel == speech_tokenizer/* ]] && [ ! -d "$src/speech_tokenizer" ] && want="$golden/$rel"
    [ -L "$link" ] || { fail "$link: expected a symlink"; continue; }
    local target
    target=$(readlink "$link")
    local ups="../../"
    [[ $rel == */* ]] && ups="../../../"
    local etag=${target#"${ups}blobs/"}
    [ "$target" = "${ups}blobs/$etag" ] || fail "$link -> $target: expected ${ups}blobs/<etag>"
    cmp -s "$link" "$want" || fail "$rel: the downloaded file differs from $want"
    if [[ $rel == *.safetensors ]]; then
      local sha
      sha=$(sha256sum "$want" | cut -d' ' -f1)
      [ "$etag" = "$sha" ] || fail "$rel: expected blob named by its sha256 $sha, got $etag"
    else
      [[ $etag =~ ^[0-9a-f]{40}$ ]] || fail "$rel: expected blob named by a git sha1, got $etag"
    fi
  done
  local left
  left=$(find "$repo_dir" -name '*.incomplete' | wc -l)
  [ "$left" -eq 0 ] || fail "$repo_dir: expected no .incomplete files, found $left"
}

commit_of() { sed -n "s|^serving $1 at commit \([0-9a-f]\{40\}\).*|\1|p" "$tmp/$2" | head -n1; }

# ---- 1. pull both models through a mirror that drops every file's connection once --------------------------
start_mirror mirror1.log --fail-after-bytes 250000
out=$("$bin" models list 2>&1)
echo "$out"
[ "$(grep '^qwen-tts' <<<"$out" | grep -c 'not-downloaded')" -eq 2 ] || fail "models list before pulling: expected 2 not-downloaded, got: $out"

"$bin" models pull qwen-tts-1.7B >"$tmp/pull1.out" 2>&1 || fail "models pull qwen-tts-1.7B: exit $? $(cat "$tmp/pull1.out")"
"$bin" models pull 0.6B >"$tmp/pull2.out" 2>&1 || fail "models pull 0.6B: exit $? $(cat "$tmp/pull2.out")"
drops=$(grep -c '^dropped' "$tmp/mirror1.log")
resumes=$(grep -c 'range=bytes=250000-' "$tmp/mirror1.log")
echo "mirror dropped $drops transfers; the client resumed $resumes of them at byte 250000"
[ "$drops" -ge 3 ] || fail "expected the mirror to drop at least 3 transfers, got $drops"
[ "$resumes" -eq "$drops" ] || fail "expected every dropped transfer resumed with Range: bytes=250000-, got $resumes of $drops"
grep -q 'resuming at byte 250000' "$tmp/pull1.out" || fail "pull output: expected a 'resuming at byte 250000' line"

commit_big=$(commit_of "$big" mirror1.log)
commit_small=$(commit_of "$small" mirror1.log)
check_layout "$dir_big" "$golden/tiny-b" "$commit_big"
check_layout "$dir_small" "$golden/tiny-a" "$commit_small"

out=$("$bin" models list 2>&1)
echo "$out"
grep -q "qwen-tts-1.7B .*downloaded .*$dir_big/snapshots/$commit_big" <<<"$out" ||
  fail "models list: expected qwen-tts-1.7B downloaded at its snapshot (qt_resolve_model_dir), got: $out"
grep -q "qwen-tts-0.6B .*downloaded .*$dir_small/snapshots/$commit_small" <<<"$out" ||
  fail "models list: expected qwen-tts-0.6B downloaded at its snapshot, got: $out"

"$bin" models list --json >"$tmp/list.json"
json=$(cat "$tmp/list.json")
python3 - "$tmp/list.json" "$dir_big/snapshots/$commit_big" "$dir_small/snapshots/$commit_small" <<'PY' ||
import json, sys
models = {m["model_name"]: m for m in json.load(open(sys.argv[1]))}
big, small = models["qwen-tts-1.7B"], models["qwen-tts-0.6B"]
ok = big["downloaded"] and small["downloaded"] and big["path"] == sys.argv[2] and small["path"] == sys.argv[3]
ok = ok and big["model_size"] == "1.7B" and big["size_on_disk"] > 0 and not big["downloading"]
sys.exit(0 if ok else 1)
PY
  fail "models list --json: expected both downloaded at their snapshots, got: $json"

# a second pull of a complete model asks the mirror nothing
before=$(wc -l <"$tmp/mirror1.log")
"$bin" models pull qwen-tts-1.7B >/dev/null 2>&1 || fail "second pull of qwen-tts-1.7B failed"
after=$(wc -l <"$tmp/mirror1.log")
[ "$before" -eq "$after" ] || fail "second pull of a complete model: expected no requests, the mirror logged $((after - before))"
stop_mirror

# ---- 2. a killed pull leaves a .incomplete blob; the next pull resumes from its size ----------------------
"$bin" models rm 0.6B >/dev/null || fail "models rm 0.6B failed"
start_mirror mirror2.log --throttle-kbps 1500
"$bin" models pull qwen-tts-0.6B >"$tmp/pull3.out" 2>&1 &
pull_pid=$!
partial=""
for _ in $(seq 300); do
  partial=$(find "$dir_small/blobs" -name '*.incomplete' -size +300k 2>/dev/null | head -n1)
  [ -n "$partial" ] && break
  sleep 0.1
done
# meanwhile a second pull of the same model is refused: one download per model
"$bin" models pull qwen-tts-0.6B >"$tmp/pull4.out" 2>&1 && fail "a concurrent pull of the same model: expected refusal, it succeeded"
grep -q 'already running' "$tmp/pull4.out" || fail "concurrent pull: expected 'already running', got: $(cat "$tmp/pull4.out")"
out=$("$bin" models list 2>&1)
grep -q 'qwen-tts-0.6B .*downloading' <<<"$out" || fail "models list during a pull: expected 0.6B downloading, got: $out"
kill -9 "$pull_pid" 2>/dev/null
wait "$pull_pid" 2>/dev/null
[ -n "$partial" ] && [ -f "$partial" ] || { fail "expected a .incomplete blob while pulling"; partial=""; }
if [ -n "$partial" ]; then
  size=$(stat -c %s "$partial")
  echo "killed the pull with $(basename "$partial") at $size bytes"
  stop_mirror
  start_mirror mirror3.log
  "$bin" models pull qwen-tts-0.6B >"$tmp/pull5.out" 2>&1 || fail "pull after a kill: exit $? $(cat "$tmp/pull5.out")"
  grep -q "range=bytes=$size-" "$tmp/mirror3.log" || fail "pull after a kill: expected a request with Range bytes=$size-; mirror log: $(cat "$tmp/mirror3.log")"
  check_layout "$dir_small" "$golden/tiny-a" "$(commit_of "$small" mirror3.log)"
fi

# ---- 3. a bad partial file (right size, wrong bytes) fails its sha256 and is fetched again ------------------
"$bin" models rm qwen-tts-0.6B >/dev/null || fail "models rm failed"
sha=$(sha256sum "$golden/tiny-a/model.safetensors" | cut -d' ' -f1)
mkdir -p "$dir_small/blobs"
head -c "$(stat -c %s "$golden/tiny-a/model.safetensors")" /dev/zero >"$dir_small/blobs/$sha.incomplete"
"$bin" models pull qwen-tts-0.6B >"$tmp/pull6.out" 2>&1 || fail "pull over a corrupt partial file: exit $? $(cat "$tmp/pull6.out")"
grep -q 'checksum mismatch' "$tmp/pull6.out" || fail "pull over a corrupt partial file: expected a checksum mismatch warning"
check_layout "$dir_small" "$golden/tiny-a" "$(commit_of "$small" mirror3.log)"
stop_mirror

# ---- 4. offline: the mirror is gone ----------------------------------------------------------------------
"$bin" models pull qwen-tts-1.7B >"$tmp/pull7.out" 2>&1 || fail "offline pull of a downloaded model: exit $? $(cat "$tmp/pull7.out")"
grep -q "ready" "$tmp/pull7.out" || fail "offline pull: expected 'ready', got $(cat "$tmp/pull7.out")"
"$bin" models rm qwen-tts-0.6B >/dev/null || fail "models rm 0.6B failed"
if "$bin" models pull qwen-tts-0.6B >"$tmp/pull8.out" 2>&1; then
  fail "offline pull of a missing model: expected failure, it succeeded"
else
  echo "offline pull of a missing model: $(tail -n1 "$tmp/pull8.out")"
  grep -q "$HF_ENDPOINT" "$tmp/pull8.out" || fail "offline pull error: expected it to name $HF_ENDPOINT, got $(cat "$tmp/pull8.out")"
fi

# ---- 5. rm --------------------------------------------------------------------------------------------------
"$bin" models rm qwen-tts-1.7B >/dev/null || fail "models rm qwen-tts-1.7B failed"
[ ! -e "$dir_big" ] || fail "models rm: expected $dir_big gone"
out=$("$bin" models list 2>&1)
[ "$(grep '^qwen-tts' <<<"$out" | grep -c 'not-downloaded')" -eq 2 ] || fail "models list after rm: expected 2 not-downloaded, got: $out"
"$bin" models rm qwen-tts-1.7B >"$tmp/rm.out" 2>&1 && fail "rm of an absent model: expected failure"
"$bin" models pull no-such-model >"$tmp/bad.out" 2>&1 && fail "pull of an unknown name: expected failure"
grep -q "unknown model 'no-such-model'" "$tmp/bad.out" || fail "unknown name: expected \"unknown model 'no-such-model'\", got $(cat "$tmp/bad.out")"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all model download checks passed"
