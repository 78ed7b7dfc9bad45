#!/usr/bin/env bash
# test_prompt_cli.sh — `voicebox prompt create|show` end to end on the golden tiny models: an ICL prompt of
# ref_24k.wav from tiny-a whose JSON holds exactly the golden reference codes and the golden x-vector (max abs
# <= 1e-3, printed), an x-vector-only prompt from tiny-b (width 64, no codes, null text), a stereo 44.1 kHz
# copy accepted, the text view; and one-line "voicebox:" errors with a non-zero exit for missing/conflicting
# options, a too-short reference, a missing reference, an unwritable output, and missing, truncated and
# foreign prompt files.
set -u
BIN="${VOICEBOX_BIN:-$1/voicebox}"
GOLDEN="${VOICEBOX_GOLDEN_DIR:-}"
[ -n "$GOLDEN" ] && [ -f "$GOLDEN/expected/tiny-a/golden.safetensors" ] ||
  { echo "golden fixtures absent: skipped"; exit 77; }
WAV="$GOLDEN/audio/ref_24k.wav"
TEXT="The quick brown fox jumps over the lazy dog."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# compare `prompt show --json` with a golden file's x-vector (and ref codes for ICL)
check_json() { # json golden prefix mode width
  PYTHONPATH="$(dirname "$0")" python3 - "$@" <<'PY'
import json, sys
from st_tensor import tensor
jpath, gpath, prefix, mode, width = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
d = json.load(open(jpath))
xv = tensor(gpath, prefix + ".xvector")[2]
codes = tensor(gpath, "icl.ref_codes")[2] if mode == "icl" else []
bad = []
if set(d) != {"model_size", "width", "mode", "ref_text", "codes", "xvector"}: bad.append("keys %s" % sorted(d))
if d["mode"] != mode or d["width"] != width or len(d["xvector"]) != width: bad.append("mode/width %s %s" % (d["mode"], d["width"]))
err = max(abs(a - b) for a, b in zip(d["xvector"], xv))
print("     x-vector max abs error vs golden %s.xvector: %.3g" % (prefix, err))
if err > 1e-3: bad.append("x-vector error %.3g" % err)
flat = [c for fr in d["codes"] for c in fr]
if any(len(fr) != 16 for fr in d["codes"]) or flat != codes: bad.append("codes differ from golden (%d frames)" % len(d["codes"]))
if mode == "icl" and d["ref_text"] != "The quick brown fox jumps over the lazy dog.": bad.append("ref_text %r" % d["ref_text"])
if mode == "xvector" and d["ref_text"] is not None: bad.append("ref_text %r" % d["ref_text"])
if bad: print("     " + "; ".join(bad)); sys.exit(1)
PY
}

# ICL from tiny-a
if "$BIN" prompt create --model "$GOLDEN/tiny-a" --ref "$WAV" --ref-text "$TEXT" -o "$TMP/a.prompt" 2> "$TMP/err"; then
  "$BIN" prompt show --json "$TMP/a.prompt" > "$TMP/a.json" &&
    check_json "$TMP/a.json" "$GOLDEN/expected/tiny-a/golden.safetensors" icl icl 32 &&
    echo "ok   tiny-a ICL prompt: 43 golden frames, golden x-vector, model_size $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_size"])' "$TMP/a.json")" ||
    fail "tiny-a ICL prompt JSON differs from golden"
  "$BIN" prompt show "$TMP/a.prompt" > "$TMP/a.txt"
  for want in "0.6B" "32" "icl" "43 (3.44 s)" "$TEXT"; do
    grep -qF -- "$want" "$TMP/a.txt" || fail "prompt show lacks '$want': $(cat "$TMP/a.txt")"
  done
  echo "ok   prompt show: size tag, width, mode, frames, text"
else
  fail "prompt create (tiny-a, ICL) failed: $(cat "$TMP/err")"
fi

# x-vector only from tiny-b (loaded without its codec)
if "$BIN" prompt create --model "$GOLDEN/tiny-b" --ref "$WAV" --xvector-only -o "$TMP/b.prompt" 2> "$TMP/err"; then
  "$BIN" prompt show --json "$TMP/b.prompt" > "$TMP/b.json" &&
    check_json "$TMP/b.json" "$GOLDEN/expected/tiny-b/golden.safetensors" xvec xvector 64 &&
    echo "ok   tiny-b x-vector prompt: width 64, no codes, null ref_text, golden x-vector" ||
    fail "tiny-b x-vector prompt JSON differs from golden"
else
  fail "prompt create (tiny-b, x-vector) failed: $(cat "$TMP/err")"
fi

# stereo 44.1 kHz copy of the reference: accepted (mixed down and resampled)
python3 - "$WAV" "$TMP/stereo.wav" <<'PY' || fail "cannot write the stereo copy"
import sys, wave, struct
r = wave.open(sys.argv[1], "rb"); n = r.getnframes()
x = struct.unpack("<%dh" % n, r.readframes(n))
m = int(n * 44100 / 24000)
y = [x[min(n - 1, int(i * 24000 / 44100))] for i in range(m)]
w = wave.open(sys.argv[2], "wb"); w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
w.writeframes(struct.pack("<%dh" % (2 * m), *[v for s in y for v in (s, s)])); w.close()
PY
"$BIN" prompt create --model "$GOLDEN/tiny-a" --ref "$TMP/stereo.wav" --ref-text "$TEXT" -o "$TMP/s.prompt" 2> "$TMP/err" &&
  "$BIN" prompt show "$TMP/s.prompt" | grep -q "43 (3.44 s)" && echo "ok   stereo 44.1 kHz reference: 43 frames" ||
  fail "stereo 44.1 kHz reference: $(cat "$TMP/err")"

# errors: non-zero exit and one "voicebox:" line naming the fault
python3 -c "
import wave; w = wave.open('$TMP/short.wav', 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(24000)
w.writeframes(b'\x10\x00' * 24000); w.close()"
head -c 1000 "$TMP/a.prompt" > "$TMP/cut.prompt" 2>/dev/null
expect_error() { # needle args...
  local needle="$1"; shift
  if "$BIN" "$@" > /dev/null 2> "$TMP/err"; then
    fail "'$*' succeeded"
  elif [ "$(wc -l < "$TMP/err")" -ne 1 ] || ! grep -q "^voicebox: .*$needle" "$TMP/err"; then
    fail "'$*': expected one 'voicebox:' line with '$needle', got: $(cat "$TMP/err")"
  else
    echo "ok   $(cat "$TMP/err")"
  fi
}
expect_error "ref-text" prompt create --model "$GOLDEN/tiny-a" --ref "$WAV" -o "$TMP/x.prompt"
expect_error "exclude" prompt create --model "$GOLDEN/tiny-a" --ref "$WAV" --ref-text "$TEXT" --xvector-only -o "$TMP/x.prompt"
expect_error "\-o" prompt create --model "$GOLDEN/tiny-a" --ref "$WAV" --ref-text "$TEXT"
expect_error "1.00 s" prompt create --model "$GOLDEN/tiny-a" --ref "$TMP/short.wav" --ref-text "$TEXT" -o "$TMP/x.prompt"
expect_error "nothere.wav" prompt create --model "$GOLDEN/tiny-a" --ref "$TMP/nothere.wav" --xvector-only -o "$TMP/x.prompt"
expect_error "no/such" prompt create --model "$GOLDEN/tiny-a" --ref "$WAV" --xvector-only -o "$TMP/no/such/x.prompt"
expect_error "no such voice prompt" prompt show "$TMP/none.prompt"
expect_error "truncated" prompt show "$TMP/cut.prompt"
expect_error "not a voicebox voice prompt" prompt show "$WAV"
expect_error "unknown command" prompt frobnicate
[ -e "$TMP/x.prompt" ] && fail "a failed create left $TMP/x.prompt behind"
ls "$TMP" | grep -q tmp && fail "temporary files left: $(ls "$TMP")"

[ "$fails" -eq 0 ] && echo "all prompt CLI checks passed" || echo "$fails check(s) failed"
[ "$fails" -eq 0 ]
