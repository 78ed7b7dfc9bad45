#!/usr/bin/env bash
# test_cli_opts.sh — every subcommand parses its options with the one table-driven parser (src/cli/cli_opt.c)
# and so treats them alike: an unknown option or a missing value is one "voicebox:" line and exit 2, --help
# prints the usage on stdout and exits 0, --name=VALUE means --name VALUE, and a bad value keeps the
# command's own sentence. Needs no model (every case fails or finishes before one is loaded).
set -u
build=${1:?usage: test_cli_opts.sh BUILD_DIR}
bin=${VOICEBOX_BIN:-$build/voicebox}
[ -x "$bin" ] || { echo "FAIL: no voicebox binary at $bin"; exit 1; }
tmp=$(mktemp -d /tmp/voicebox-cli-opts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

# expect RC NEEDLE ARGS...: exit status RC, exactly one stderr line "voicebox: ...NEEDLE...", nothing on stdout
expect() {
  local want=$1 needle=$2
  shift 2
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" != "$want" ] || [ "$(wc -l <"$tmp/err")" != 1 ] || ! grep -qF -- "$needle" "$tmp/err" ||
    ! grep -q '^voicebox: ' "$tmp/err" || [ -s "$tmp/out" ]; then
    fail "voicebox $*: expected exit $want and one line with '$needle', got exit $rc: $(head -c 300 "$tmp/err")"
  else
    echo "ok   voicebox $* -> $rc: $(cat "$tmp/err")"
  fi
}

for cmd in "say" "serve" "bench" "prompt create" "prompt show" "codec encode" "codec decode" "tokenize" \
  "profiles list" "history list" "models list" "dev inspect" "dev random-model" "transcribe"; do
  # shellcheck disable=SC2086
  expect 2 "unknown option '--bogus'" $cmd --bogus
  # shellcheck disable=SC2086
  "$bin" $cmd --help >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ "$rc" = 0 ] && grep -q 'usage' "$tmp/out" || fail "voicebox $cmd --help: exit $rc, stdout $(head -c 200 "$tmp/out")"
done

# a missing value
expect 2 "--model needs a value" say --model
expect 2 "--threads needs a value" serve --threads
expect 2 "--model needs a value" codec encode --model
expect 2 "--limit needs a value" history list --limit
# a flag given a value
expect 2 "--json takes no value" models list --json=yes
# bad values keep each command's words; --name=VALUE is --name VALUE
expect 1 "--port must be 0 to 65535, got '70000'" serve --port=70000
expect 1 "--limit: 'abc' is not a whole number" history list --data-dir "$tmp/data" --limit=abc
expect 1 "--max-frames wants an integer from 1 to 100000, not '0'" say --max-frames 0
expect 1 "--threads needs a number from 0 (all cores) to 1024, not '-1'" codec decode --threads=-1
expect 2 "--precision: " bench --precision fp64
expect 1 "--seed '-3' is not a non-negative integer" dev random-model --seed=-3
# positional arguments stay the command's to check
expect 1 "one audio file at a time" codec encode --model x a.wav b.wav
expect 2 "unexpected argument 'extra'" say extra
# "--" ends the options: what follows is an argument even when it starts with "-"
expect 1 "one TEXT only" tokenize -- --looks-like-an-option second

[ "$fails" -eq 0 ] && echo "all CLI option checks passed" || echo "$fails check(s) failed"
[ "$fails" -eq 0 ]
