#!/usr/bin/env bash
# test_bpe_cli.sh — `voicebox tokenize` prints the golden ids on one line, decodes them back, reads stdin,
# and fails cleanly (exit 1, one "voicebox:" line) on bad UTF-8, a missing model and an unknown id.
set -u
BIN="${VOICEBOX_BIN:-$1/voicebox}"
GOLDEN="${VOICEBOX_GOLDEN_DIR:-}"
[ -n "$GOLDEN" ] && [ -f "$GOLDEN/tokenizer_cases.json" ] || { echo "golden fixtures absent: skipped"; exit 77; }
MODEL="$GOLDEN/tiny-a"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# a few golden cases (the model dir's ids: transformers_tokenizer_ids where present), as text<TAB>ids lines
cases=$(python3 - "$GOLDEN/tokenizer_cases.json" <<'EOF'
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
for i in (1, 12, 17, 29, 41, 51, 55, 59):
    c = cases[i]
    ids = c.get("transformers_tokenizer_ids", c["ids"])
    print(json.dumps(c["text"]) + "\t" + " ".join(map(str, ids)))
EOF
) || { echo "FAIL: cannot read the golden cases"; exit 1; }

while IFS=$'\t' read -r text_json want; do
  # (the x keeps a trailing newline of the text from being eaten by $(...))
  text=$(python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.argv[1]) + "x")' "$text_json")
  text=${text%x}
  got=$("$BIN" tokenize --model "$MODEL" "$text") || fail "tokenize $text_json exited $?"
  if [ "$got" = "$want" ]; then
    echo "ok   $text_json -> $got"
  else
    fail "$text_json: expected [$want] got [$got]"
  fi
  if [ -n "$want" ]; then
    # shellcheck disable=SC2086
    back=$("$BIN" tokenize --model "$MODEL" --decode $want; printf x)
    nfc=$(printf '%s' "$text" | python3 -c 'import sys,unicodedata; sys.stdout.write(unicodedata.normalize("NFC", sys.stdin.read()))'; printf '\nx')
    [ "$back" = "$nfc" ] || fail "--decode of $text_json gave [$back]"
  fi
done <<< "$cases"

got=$(printf 'line one\nline two\n' | "$BIN" tokenize --model "$MODEL" -)
want=$("$BIN" tokenize --model "$MODEL" $'line one\nline two\n')
[ -n "$got" ] && [ "$got" = "$want" ] || fail "stdin gave [$got], the argument [$want]"

expect_error() { # expect_error "what" "needle" args...
  local what=$1 needle=$2 out rc
  shift 2
  out=$("$BIN" "$@" 2>&1 >/dev/null)
  rc=$?
  if [ $rc -ne 1 ] || [[ "$out" != voicebox:*"$needle"* ]]; then
    fail "$what: exit $rc, stderr [$out], expected 1 and [$needle]"
  else
    echo "ok   $what -> $out"
  fi
}
expect_error "invalid UTF-8" "invalid UTF-8 at byte 2" tokenize --model "$MODEL" $'ab\xff'
expect_error "missing model" "/nonexistent/model" tokenize --model /nonexistent/model "text"
expect_error "unknown id" "is not a token" tokenize --model "$MODEL" --decode 999999999
expect_error "not an id" "is not a token id" tokenize --model "$MODEL" --decode 12x

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "voicebox tokenize: all checks passed"
