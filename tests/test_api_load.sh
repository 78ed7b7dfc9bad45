#!/usr/bin/env bash
# test_api_load.sh — the load test: 50 concurrent clients (tools/loadtest.c, libcurl) doing profile and
# history reads and writes against a real `voicebox serve` for 10 s. Fails on any error, any lost write, or
# a /health the server took 50 ms or more to answer. Prints requests/s and latency percentiles.
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

# The promise: the server answers every /health in under 50 ms while 50 clients load it. That is checked on
# the server's own clock (its log line per request: from reading the request to queueing the answer), for
# every /health of the run. The client's clock also counts the times the OS stopped the client or the
# whole process for other jobs on these two cores (seen here: 58-244 ms stalls while the server logged
# < 1 ms), so it is printed (p50/p99/max) and only bounds /health queued behind slow work (1 s).
# Under AddressSanitizer every request costs two to three times more: there the server bound is 150 ms.
server_ms=50
grep -q '^VOICEBOX_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null && server_ms=150
rc=0
"$loadtest" run "http://127.0.0.1:$port" --clients 50 --seconds "${LOADTEST_SECONDS:-10}" --health-ms 1000 || rc=1
kill -TERM "$pid"
wait "$pid" || { echo "FAIL: the server exited with $? after SIGTERM"; tail -n 20 "$tmp/server.out"; rc=1; }
pid=
grep -c " 200 " "$tmp/server.log" | sed 's/^/requests logged with 200: /'
worst=$(grep " GET /health 200 " "$tmp/server.log" | awk '{print $(NF-1)}' | sort -n | tail -n 1)
count=$(grep -c " GET /health 200 " "$tmp/server.log")
echo "GET /health in the server: $count answers, worst ${worst:-?} ms (limit $server_ms ms)"
if [ -z "$worst" ] || ! awk -v w="$worst" -v l="$server_ms" 'BEGIN { exit !(w < l) }'; then
  echo "FAIL: the server took ${worst:-?} ms for a /health, expected under $server_ms ms"
  rc=1
fi
exit $rc
