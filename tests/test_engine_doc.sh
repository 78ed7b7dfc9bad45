#!/usr/bin/env bash
# test_engine_doc.sh — every "§N" a comment in src/, tests/ or tools/ cites is a section of docs/engine.md, and
# nothing cites a document a fresh clone does not have (the spec and fixture READMEs outside the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
doc=$root/docs/engine.md
[ -f "$doc" ] || { echo "FAIL: $doc is missing"; exit 1; }
sources() {
    find "$root/src" "$root/tests" "$root/tools" -name node_modules -prune -o -type f \
        \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.py' -o -name '*.mjs' \) -print
}
# headings "## 4. The talker" and "### 4.3 The head" give the sections 4 and 4.3
sections=$(mktemp)
trap 'rm -f "$sections"' EXIT
sed -nE 's/^#{2,4} ([0-9]+(\.[0-9]+)*)\.? .*/\1/p' "$doc" | sort -u > "$sections"
fails=0 cited=0
while IFS=: read -r file line sec; do
    cited=$((cited + 1))
    if ! grep -qxF "$sec" "$sections"; then
        echo "FAIL: ${file#"$root"/}:$line cites §$sec, which docs/engine.md does not have"
        fails=$((fails + 1))
    fi
done < <(sources | xargs grep -noE '§[0-9]+(\.[0-9]+)*' | sed -E 's/:§/:/')
[ "$cited" -gt 0 ] || { echo "FAIL: found no § citations at all (is the search broken?)"; exit 1; }
if sources | xargs grep -nE 'golden[ ]README|qwen3-tts[.]md|shared[/]docs'; then
    echo "FAIL: the lines above cite a document outside the repository; cite docs/engine.md instead"
    fails=$((fails + 1))
fi
[ "$fails" -eq 0 ] || { echo "$fails problem(s)"; exit 1; }
echo "ok: $cited § citations, all sections of docs/engine.md ($(wc -l < "$sections") sections)"
