#!/usr/bin/env bash
# test_api_load.sh — the load test: 50 concurrent clients (tools/loadtest.c, libcurl) doing profile and
# history reads and writes against a real `voicebox serve` for 10 s. Fails on any error, any lost write, or
# a /health answer of 50 ms or more. Prints requests/s and latency percentiles.
# Usage: test_api_load.sh BUILD_DIR. LOADTEST_SECONDS shortens or lengthens the run.
set -u
build=${1:?usage: test_api_load.sh BUILD_DIR}
bin=${VOICEBOX_BIN:-$build/voicebox}
loadtest=$build/loadtest
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
[ -x "$bin" ] && [ -x "$loadtest" ] || { echo "FAIL: need $bin and $loadtest"; exit 1; }

tmp=$(mktemp -d /tmp/voicebox-load.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"$loadtest" seed "$tmp/data" 500 >/dev/null 2>"$tmp/seed.err" || { cat "$tmp/seed.err"; exit 1; }
"$bin" serve --port "$port" --data-dir "$tmp/data" --log-file "$tmp/server.log" >"$tmp/server.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
  sleep 0.05
done

# The latency promise is the release build's: /health under 50 ms. Under AddressSanitizer every request
# costs two to three times more and the run shares two cores with the rest of the suite, so scheduler
# stalls of a few hundred ms appear (the server's own log shows /health handled in < 15 ms even then).
# There the bound only catches /health queued behind slow work (seconds); errors and lost writes are
# checked the same in both builds.
health_ms=50
grep -q '^VOICEBOX_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null && health_ms=500
rc=0
"$loadtest" run "http://127.0.0.1:$port" --clients 50 --seconds "${LOADTEST_SECONDS:-10}" --health-ms $health_ms || rc=1
kill -TERM "$pid"
wait "$pid" || { echo "FAIL: the server exited with $? after SIGTERM"; tail -n 20 "$tmp/server.out"; rc=1; }
pid=
grep -c " 200 " "$tmp/server.log" | sed 's/^/requests logged with 200: /'
# the server's own view of /health (from reading the request to queueing the answer), to tell a slow server
# from a machine that stopped the whole process for a while (other jobs on the same cores)
grep " GET /health 200 " "$tmp/server.log" | awk '{print $(NF-1)}' | sort -n | tail -n 1 |
  sed 's/^/GET \/health in the server: worst /; s/$/ ms/'
exit $rc
