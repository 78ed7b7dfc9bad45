#!/usr/bin/env bash
# test_codec_cli_encode.sh — `voicebox codec encode` prints the golden ref_codes of ref_24k.wav (43 lines of 16
# codes), from a model dir and from the speech_tokenizer dir, the same frames for a 48 kHz copy, and fails
# cleanly (non-zero exit, one "voicebox:" line on stderr) on a non-audio file, a zero-length WAV, a missing
# file and a model dir without speech_tokenizer/.
set -u
BIN="${VOICEBOX_BIN:-$1/voicebox}"
GOLDEN="${VOICEBOX_GOLDEN_DIR:-}"
[ -n "$GOLDEN" ] && [ -f "$GOLDEN/expected/speech_tokenizer_golden.safetensors" ] ||
  { echo "golden fixtures absent: skipped"; exit 77; }
WAV="$GOLDEN/audio/ref_24k.wav"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# the golden ref_codes [43,16] (I64) as 43 lines of 16 integers
python3 "$(dirname "$0")/st_tensor.py" "$GOLDEN/expected/speech_tokenizer_golden.safetensors" ref_codes I64 43 16 \
  > "$TMP/want.txt" || { echo "FAIL: cannot read ref_codes from the golden file"; exit 1; }

for model in "$GOLDEN/tiny-a" "$GOLDEN/speech_tokenizer"; do
  if "$BIN" codec encode --model "$model" "$WAV" > "$TMP/got.txt" 2> "$TMP/err.txt"; then
    if cmp -s "$TMP/got.txt" "$TMP/want.txt"; then
      echo "ok   codec encode --model $model: 43 frames equal to ref_codes"
    else
      fail "codec encode --model $model differs from ref_codes:"
      diff "$TMP/want.txt" "$TMP/got.txt" | head -6
    fi
  else
    fail "codec encode --model $model exited non-zero: $(cat "$TMP/err.txt")"
  fi
done

# two threads: the same codes
"$BIN" codec encode --threads 2 --model "$GOLDEN/tiny-a" "$WAV" > "$TMP/got2.txt" 2>&1 &&
  cmp -s "$TMP/got2.txt" "$TMP/want.txt" && echo "ok   --threads 2: the same codes" ||
  fail "--threads 2 gave other codes or failed"

# a 48 kHz copy (each sample twice) is resampled inside: 43 frames of 16 codes
python3 - "$WAV" "$TMP/ref_48k.wav" <<'PY' || fail "cannot write the 48 kHz copy"
import sys, wave
r = wave.open(sys.argv[1], "rb")
data = r.readframes(r.getnframes())
w = wave.open(sys.argv[2], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(48000)
w.writeframes(b"".join(data[i:i + 2] * 2 for i in range(0, len(data), 2)))
w.close()
PY
if "$BIN" codec encode --model "$GOLDEN/tiny-a" "$TMP/ref_48k.wav" > "$TMP/got48.txt" 2> "$TMP/err.txt"; then
  lines=$(wc -l < "$TMP/got48.txt")
  widths=$(awk '{print NF}' "$TMP/got48.txt" | sort -u | tr '\n' ' ')
  same0=$(paste -d' ' <(cut -d' ' -f1 "$TMP/got48.txt") <(cut -d' ' -f1 "$TMP/want.txt") |
    awk '$1 == $2' | wc -l)
  [ "$lines" = 43 ] && [ "$widths" = "16 " ] && [ "$same0" -ge 30 ] &&
    echo "ok   48 kHz input: 43 frames of 16 codes, codebook 0 equal in $same0 of 43" ||
    fail "48 kHz input: $lines lines, widths [$widths], codebook 0 equal in $same0 of 43"
else
  fail "48 kHz input exited non-zero: $(cat "$TMP/err.txt")"
fi

# bad input: non-zero exit, exactly one line on stderr starting "voicebox:", nothing on stdout
bad() { # description, then the command's arguments
  local what=$1; shift
  "$BIN" codec encode "$@" > "$TMP/out.txt" 2> "$TMP/err.txt"
  local rc=$?
  local n; n=$(wc -l < "$TMP/err.txt")
  if [ $rc -ne 0 ] && [ "$n" = 1 ] && grep -q '^voicebox: ' "$TMP/err.txt" && [ ! -s "$TMP/out.txt" ]; then
    echo "ok   $what: exit $rc: $(cat "$TMP/err.txt")"
  else
    fail "$what: exit $rc, $n stderr lines: $(cat "$TMP/err.txt"), stdout $(wc -c < "$TMP/out.txt") bytes"
  fi
}
printf 'this is not audio, just text\n%.0s' {1..50} > "$TMP/notes.wav"
bad "non-audio file" --model "$GOLDEN/tiny-a" "$TMP/notes.wav"
python3 -c 'import sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(24000); w.close()' "$TMP/empty.wav"
bad "zero-length WAV" --model "$GOLDEN/tiny-a" "$TMP/empty.wav"
bad "missing file" --model "$GOLDEN/tiny-a" "$TMP/absent.wav"
mkdir -p "$TMP/model-without-codec"
cp "$GOLDEN/tiny-a/config.json" "$TMP/model-without-codec/"
bad "model dir without speech_tokenizer/" --model "$TMP/model-without-codec" "$WAV"
bad "missing --model" "$WAV"
bad "no audio file" --model "$GOLDEN/tiny-a"

[ $fails -eq 0 ] && echo "all ok" || { echo "$fails failure(s)"; exit 1; }
