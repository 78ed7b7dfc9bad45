#!/usr/bin/env bash
# coverage.sh BUILD_DIR — line and branch coverage of each layer (src/engine, src/audio, ...) from the gcov
# counts a -DVOICEBOX_COVERAGE=ON build left after its tests ran (scripts/test.sh runs it after the ASan
# build's ctest). Prints one row per layer; writes BUILD_DIR/coverage.json (gcovr's per-file summary) and
# BUILD_DIR/coverage.log (its warnings).
# Branches are gcc's: both ways of every condition, so 100% is not the aim; a layer's figure falling is.
# Counted: the .c files under src/. Headers are compiled through the header views in BUILD_DIR/layers, so
# gcov names them there; they hold only a few static inline functions and are left out.
set -euo pipefail
build=${1:?usage: coverage.sh BUILD_DIR}
cd "$(dirname "$0")/.."
command -v gcovr >/dev/null || { echo "coverage: gcovr is missing (scripts/install-deps.sh installs it)"; exit 1; }
# A gcov line gcovr cannot parse is skipped, not fatal: gcovr 5.2 hangs after such an error when run with -j.
gcovr -r . --object-directory "$build" --filter 'src/' -j "$(nproc)" \
    --exclude-unreachable-branches --gcov-ignore-parse-errors --json-summary "$build/coverage.json" \
    >/dev/null 2>"$build/coverage.log" || { cat "$build/coverage.log"; exit 1; }
skipped=$(grep -c 'UnknownLineType' "$build/coverage.log" || true)
[ "$skipped" -eq 0 ] || echo "coverage: $skipped racy (negative) branch counts skipped, see $build/coverage.log"
python3 - "$build/coverage.json" <<'PY'
import json, sys
layers = {}
for f in json.load(open(sys.argv[1]))["files"]:
    parts = f["filename"].split("/")
    if len(parts) < 3 or parts[0] != "src":
        continue
    t = layers.setdefault(parts[1], [0, 0, 0, 0])
    t[0] += f["line_covered"]; t[1] += f["line_total"]
    t[2] += f["branch_covered"]; t[3] += f["branch_total"]
def pct(a, b):
    return f"{100.0 * a / b:5.1f}% ({a}/{b})" if b else "    -"
print(f"{'layer':8} {'lines':22} branches")
order = ["engine", "whisper", "audio", "studio", "server", "cli"]
for name in sorted(layers, key=lambda n: (order.index(n) if n in order else len(order), n)):
    lc, lt, bc, bt = layers[name]
    print(f"{name:8} {pct(lc, lt):22} {pct(bc, bt)}")
PY
