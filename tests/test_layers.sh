#!/usr/bin/env bash
# test_layers.sh — the layers hold (CMakeLists.txt, "layers").
#
# 1. An include that crosses a layer fails to compile with the flags the layer's library really builds with
#    (from compile_commands.json). Every layer also compiles an include it is allowed, with the same flags,
#    so a failure is the include's and not the probe's.
# 2. No source reaches around the include paths ("../" or absolute includes).
# 3. The engine's files do not depend on one another in a cycle: neither through their includes (a .c and
#    its .h counted as one file) nor through the functions their objects call.
set -euo pipefail
build=${1:?usage: test_layers.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
db=$build/compile_commands.json
[ -f "$db" ] || { echo "FAIL: $db is missing (CMAKE_EXPORT_COMPILE_COMMANDS)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# The compile command of one source under src/LAYER/ (the SIMD files have extra flags: skipped), without
# its -o and -c parts, one argument per line.
flags() {
    python3 - "$db" "$root/src/$1/" <<'EOF'
import json, shlex, sys
for e in json.load(open(sys.argv[1])):
    if e["file"].startswith(sys.argv[2]) and "_avx" not in e["file"]:
        args, out = shlex.split(e["command"]), []
        skip = False
        for a in args:
            if skip:
                skip = False
            elif a in ("-o", "-c"):
                skip = True
            else:
                out.append(a)
        print("\n".join(out))
        break
EOF
}

# probe LAYER ok|fails HEADER: compiles `#include "HEADER"` as a file of LAYER would be.
probe() {
    local layer=$1 want=$2 header=$3
    mapfile -t cmd < "$tmp/$layer.flags"
    printf '#include "%s"\nint layers_probe;\n' "$header" > "$tmp/probe.c"
    if "${cmd[@]}" -fsyntax-only "$tmp/probe.c" > "$tmp/err" 2>&1; then
        got=ok
    elif grep -q "$header: No such file" "$tmp/err"; then
        got=fails
    else
        echo "FAIL: $layer including $header: compile error other than a missing file:"
        sed 's/^/    /' "$tmp/err" | head -5
        fails=$((fails + 1))
        return
    fi
    if [ "$got" != "$want" ]; then
        echo "FAIL: $layer including \"$header\": expected it to $([ "$want" = ok ] && echo compile || echo fail), it did not"
        fails=$((fails + 1))
    else
        echo "ok: $layer including \"$header\" $([ "$want" = ok ] && echo compiles || echo fails)"
    fi
}

layers="engine audio studio server cli"
[ -n "$(ls "$root"/src/whisper/*.c 2>/dev/null)" ] && layers="$layers whisper"
for layer in $layers; do
    flags "$layer" > "$tmp/$layer.flags"
    [ -s "$tmp/$layer.flags" ] || { echo "FAIL: no compile command for src/$layer/ in $db"; exit 1; }
done

echo "== 1. crossing a layer fails to compile"
probe engine ok engine/talker.h
probe engine ok engine/qt.h
probe engine fails audio/audio.h
probe engine fails studio/studio.h
probe engine fails server/server.h
probe engine fails cli/cli.h

probe audio ok audio/audio.h
probe audio ok engine/qt.h
probe audio fails engine/talker.h
probe audio fails studio/studio.h

probe studio ok engine/qt.h
probe studio ok audio/audio.h
probe studio ok studio/studio_internal.h
probe studio fails engine/talker.h
probe studio fails engine/model.h
probe studio fails engine/config.h
probe studio fails engine/qt_dev.h
probe studio fails engine/kernels.h
probe studio fails server/http.h
probe studio fails cli/cli.h

probe server ok studio/studio.h
probe server ok audio/audio.h
probe server ok server/multipart.h
probe server fails studio/studio_internal.h
probe server fails studio/prompt_cache.h
probe server fails engine/qt.h
probe server fails engine/talker.h
probe server fails cli/cli.h

probe cli ok engine/qt.h
probe cli ok engine/qt_dev.h
probe cli ok studio/studio.h
probe cli ok server/server.h
probe cli fails engine/talker.h
probe cli fails engine/model.h
probe cli fails studio/studio_internal.h
probe cli fails server/multipart.h

if [[ " $layers " == *" whisper "* ]]; then
    probe whisper ok engine/qt_common.h
    probe whisper fails engine/talker.h
    probe whisper fails studio/studio.h
    probe engine fails whisper/wh.h
fi

echo "== 2. no include reaches around the include paths"
if grep -rnE '^\s*#\s*include\s*"(\.\./|/)' "$root/src" "$root/tools"; then
    echo "FAIL: the includes above name a path outside their layer's include path"
    fails=$((fails + 1))
else
    echo "ok: no \"../\" or absolute includes in src/ and tools/"
fi

echo "== 3. no cycle among the engine's files"
# includes: file X (X.c with X.h) -> Y when X.c or X.h includes engine/Y.h
for f in "$root"/src/engine/*.[ch]; do
    from=$(basename "${f%.*}")
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"engine\/\([A-Za-z0-9_]*\)\.h".*/\1/p' "$f" |
        while read -r to; do if [ "$to" != "$from" ]; then echo "$from $to"; fi; done
done | sort -u > "$tmp/includes"
# calls: object X -> Y when X uses a function or object that Y defines
nm -A -g "$build/libvoicebox_engine.a" | awk '
    { split($1, p, ":"); obj = p[2]; sub(/\.c\.o$/, "", obj) }
    $(NF-1) == "U" { use[obj, $NF] = 1; next }
    NF >= 3 && $(NF-1) ~ /^[TDBRVW]$/ { def[$NF] = obj }
    END { for (k in use) { split(k, q, SUBSEP); if ((q[2] in def) && def[q[2]] != q[1]) print q[1], def[q[2]] } }
' | sort -u > "$tmp/calls"
[ -s "$tmp/calls" ] || { echo "FAIL: no calls found between the engine's objects (nm on libvoicebox_engine.a)"; exit 1; }
for graph in includes calls; do
    if tsort "$tmp/$graph" > /dev/null 2> "$tmp/loop"; then
        echo "ok: the engine's $graph form no cycle ($(wc -l < "$tmp/$graph") edges)"
    else
        echo "FAIL: the engine's $graph form a cycle:"
        sed 's/^/    /' "$tmp/loop"
        fails=$((fails + 1))
    fi
done

echo "== 4. one resampler and one UTF-8 validator"
# libsoxr is called in one place (qt_resample); UTF-8 is validated in one place (a lead-byte bound ">= 0xc2"
# appears in utf8.c, and in bpe.c's lossy decoder, which must replace each ill-formed part by U+FFFD as Hugging
# Face's decoder does: another job than validating)
one_place() { # what, pattern, the files allowed (sorted, space-separated)
    local found
    found=$(grep -rlE "$2" "$root/src" | sed "s|^$root/||" | sort | tr '\n' ' ')
    if [ "$found" = "$3 " ]; then
        echo "ok: $1 only in $3"
    else
        echo "FAIL: $1 in: $found(want only $3)"
        fails=$((fails + 1))
    fi
}
one_place "soxr calls" 'soxr_(oneshot|create)' src/engine/resample.c
one_place "UTF-8 validation" '>= ?0x[cC]2' "src/engine/bpe.c src/engine/utf8.c"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all layer checks passed"
