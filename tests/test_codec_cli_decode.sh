#!/usr/bin/env bash
# test_codec_cli_decode.sh — `voicebox codec decode --model DIR codes.txt -o out.wav` turns the golden ref_codes
# into a 24 kHz mono 16-bit WAV matching the golden ref_decode_wav (within 3 LSB, from a model dir, from the
# speech_tokenizer dir and with 2 threads), and fails cleanly (non-zero exit, one "voicebox:" line on stderr, no
# output file) on codes >= 2048 or negative, a row without 16 values, a word that is not a number, an empty
# file, a missing file, a missing -o and a model dir without speech_tokenizer/.
set -u
BIN="${VOICEBOX_BIN:-$1/voicebox}"
GOLDEN="${VOICEBOX_GOLDEN_DIR:-}"
[ -n "$GOLDEN" ] && [ -f "$GOLDEN/expected/speech_tokenizer_golden.safetensors" ] ||
  { echo "golden fixtures absent: skipped"; exit 77; }
GF="$GOLDEN/expected/speech_tokenizer_golden.safetensors"
TESTS=$(dirname "$0")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# the golden ref_codes [43,16] as 43 lines of 16 integers
python3 "$TESTS/st_tensor.py" "$GF" ref_codes I64 43 16 > "$TMP/codes.txt" ||
  { echo "FAIL: cannot read ref_codes from the golden file"; exit 1; }

# compare a WAV with the golden ref_decode_wav as 16-bit PCM: prints the max difference in LSB
check_wav() {
  PYTHONPATH="$TESTS" python3 - "$GF" "$1" <<'PY'
import struct, sys, wave
from st_tensor import tensor
want = tensor(sys.argv[1], "ref_decode_wav")[2]
w = wave.open(sys.argv[2], "rb")
if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, 24000):
    sys.exit("format %d ch, %d bytes, %d Hz (expected 1, 2, 24000)" % (w.getnchannels(), w.getsampwidth(), w.getframerate()))
got = struct.unpack("<%dh" % w.getnframes(), w.readframes(w.getnframes()))
if len(got) != len(want):
    sys.exit("%d samples, expected %d" % (len(got), len(want)))
worst = max(abs(g - round(max(-1.0, min(1.0, x)) * 32767)) for g, x in zip(got, want))
print(worst)
sys.exit(0 if worst <= 3 else "max difference %d LSB (tolerance 3)" % worst)
PY
}

run_ok() { # label, args...
  local label="$1"; shift
  rm -f "$TMP/out.wav"
  if "$BIN" codec decode "$@" -o "$TMP/out.wav" 2> "$TMP/err.txt"; then
    if lsb=$(check_wav "$TMP/out.wav" 2>&1); then
      echo "ok   $label: 82560 samples, max difference from ref_decode_wav $lsb LSB"
    else
      fail "$label: $lsb"
    fi
  else
    fail "$label exited non-zero: $(cat "$TMP/err.txt")"
  fi
}
run_ok "decode --model tiny-a" --model "$GOLDEN/tiny-a" "$TMP/codes.txt"
run_ok "decode --model speech_tokenizer" --model "$GOLDEN/speech_tokenizer" "$TMP/codes.txt"
run_ok "decode --threads 2" --threads 2 --model "$GOLDEN/tiny-a" "$TMP/codes.txt"

# bad input: non-zero exit, exactly one "voicebox:" line on stderr, no output file
bad() { # label, expected word in the message, args...
  local label="$1" word="$2"; shift 2
  rm -f "$TMP/bad.wav"
  "$BIN" codec decode "$@" 2> "$TMP/err.txt" > /dev/null
  local rc=$? lines
  lines=$(wc -l < "$TMP/err.txt")
  if [ $rc -eq 0 ]; then
    fail "$label: exit 0"
  elif [ "$lines" -ne 1 ] || ! grep -q '^voicebox: ' "$TMP/err.txt"; then
    fail "$label: expected one 'voicebox:' line on stderr, got $lines: $(cat "$TMP/err.txt")"
  elif ! grep -qi -- "$word" "$TMP/err.txt"; then
    fail "$label: message does not mention '$word': $(cat "$TMP/err.txt")"
  elif [ -e "$TMP/bad.wav" ]; then
    fail "$label: an output file was written"
  else
    echo "ok   $label: $(cat "$TMP/err.txt")"
  fi
}
M=(--model "$GOLDEN/tiny-a")
sed '5s/^[0-9]*/2048/' "$TMP/codes.txt" > "$TMP/big.txt"
bad "code 2048" "outside" "${M[@]}" "$TMP/big.txt" -o "$TMP/bad.wav"
sed '2s/ [0-9]* / -1 /' "$TMP/codes.txt" > "$TMP/neg.txt"
bad "negative code" "outside" "${M[@]}" "$TMP/neg.txt" -o "$TMP/bad.wav"
sed '7s/ [0-9]*$//' "$TMP/codes.txt" > "$TMP/short.txt"
bad "row of 15 values" "15 values" "${M[@]}" "$TMP/short.txt" -o "$TMP/bad.wav"
sed '3s/$/ 7/' "$TMP/codes.txt" > "$TMP/long.txt"
bad "row of 17 values" "more than 16" "${M[@]}" "$TMP/long.txt" -o "$TMP/bad.wav"
sed '4s/ [0-9]* / 1x2 /' "$TMP/codes.txt" > "$TMP/word.txt"
bad "not a number" "not an integer" "${M[@]}" "$TMP/word.txt" -o "$TMP/bad.wav"
: > "$TMP/empty.txt"
bad "empty file" "no frames" "${M[@]}" "$TMP/empty.txt" -o "$TMP/bad.wav"
printf '\n  \n# only a comment\n' > "$TMP/blank.txt"
bad "blank lines only" "no frames" "${M[@]}" "$TMP/blank.txt" -o "$TMP/bad.wav"
bad "missing file" "no such file" "${M[@]}" "$TMP/nothere.txt" -o "$TMP/bad.wav"
bad "no -o" "-o" "${M[@]}" "$TMP/codes.txt"
mkdir -p "$TMP/model"
cp "$GOLDEN/tiny-a/config.json" "$TMP/model/"
bad "model dir without speech_tokenizer/" "speech_tokenizer" --model "$TMP/model" "$TMP/codes.txt" -o "$TMP/bad.wav"

[ $fails -eq 0 ] && echo "codec decode CLI: ok" || echo "codec decode CLI: $fails failure(s)"
[ $fails -eq 0 ]
