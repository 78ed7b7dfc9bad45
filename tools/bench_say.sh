#!/bin/sh
# bench_say.sh — the one `voicebox say` run that issue 12's whole-process speed figures time: 100 frames (8 s of
# audio) after an ICL prompt from the 3.44 s golden reference, 2 threads, seed 1; with --ignore-eos where the
# binary has it (a random model may sample its end of speech early: 0.6B int8 did at frame 19).
#
#   tools/bench_say.sh VOICEBOX MODEL_DIR [more say options, e.g. --precision int8]
#
# Time the whole process from outside (e.g. /usr/bin/time -v tools/bench_say.sh ...). MODEL_DIR is a
# `voicebox dev random-model` output (real shapes, random weights). The reference is the golden fixtures'
# audio/ref_24k.wav ($VOICEBOX_GOLDEN_DIR, else ../shared/golden beside the checkout); without them it is made
# the way docs/testing.md says (espeak-ng and sox), which gives the same samples on the same packages.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 VOICEBOX MODEL_DIR [say options]" >&2; exit 2; }
vb=$1 model=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
golden=${VOICEBOX_GOLDEN_DIR:-$here/../shared/golden}
ref_text="The quick brown fox jumps over the lazy dog."
ref=$golden/audio/ref_24k.wav
out=${TMPDIR:-/tmp}/bench_say.$$.wav
if [ ! -r "$ref" ]; then
    ref=${TMPDIR:-/tmp}/bench_say_ref.$$.wav
    espeak-ng -v en-us -s 150 -w "$ref.raw.wav" "$ref_text"
    sox "$ref.raw.wav" -r 24000 -c 1 -b 16 "$ref"
    rm -f "$ref.raw.wav"
fi
eos=
"$vb" say --help 2>/dev/null | grep -q -- --ignore-eos && eos=--ignore-eos
trap 'rm -f "$out" "${TMPDIR:-/tmp}/bench_say_ref.$$.wav"' EXIT
"$vb" say --model "$model" --ref "$ref" --ref-text "$ref_text" --language en --seed 1 --threads 2 \
    --max-frames 100 $eos --quiet -o "$out" \
    --text "It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith slipped \
quickly through the glass doors of Victory Mansions, though not quickly enough to keep out a swirl of gritty dust." "$@"
