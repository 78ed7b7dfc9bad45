#!/usr/bin/env bash
# test_api.sh — the studio's HTTP API end to end: starts the real `voicebox serve` on a free port with a temp
# data dir and drives every route with curl, checking statuses, headers and bodies. Covers the bad inputs
# (unknown ids, bad JSON, oversize and undecodable uploads, samples too short / too long / silent, long and
# duplicate names, path traversal), Range requests, CORS, static files, the OpenAPI document, a restart on
# the same data dir, SIGTERM with a request in flight, and kill -9 in the middle of uploads.
# Usage: test_api.sh BUILD_DIR (CTest passes it; VOICEBOX_BIN overrides the binary).
set -u
build=${1:?usage: test_api.sh BUILD_DIR}
bin=${VOICEBOX_BIN:-$build/voicebox}
seeder=$build/loadtest
for tool in curl python3 sox; do
  command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
[ -x "$bin" ] || { echo "FAIL: no voicebox binary at $bin"; exit 1; }

tmp=$(mktemp -d /tmp/voicebox-api.XXXXXX)
data=$tmp/data
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port

start_server() {
  # no web UI unless a test asks for one (a later --web-dir wins), so GET / is the API's greeting
  "$bin" serve --port "$port" --data-dir "$data" --log-file "$tmp/server.log" --web-dir "$tmp/no-web" "$@" \
    >>"$tmp/server.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "$base/health" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  fail "the server did not start: $(tail -n 5 "$tmp/server.out")"
  exit 1
}

stop_server() { # SIGTERM; the exit status must be 0 (also: no leaks under ASan)
  kill -TERM "$pid"
  wait "$pid"
  local rc=$?
  [ "$rc" = 0 ] || fail "the server exited with $rc after SIGTERM: $(tail -n 20 "$tmp/server.out")"
  pid=
}

# req METHOD PATH [curl args...]: sets $status; the body is in $tmp/body, the headers in $tmp/headers.
req() {
  local method=$1 path=$2
  shift 2
  status=$(curl -s --path-as-is -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' -X "$method" "$@" "$base$path")
  last="$method $path"
}
body() { head -c 400 "$tmp/body"; }
expect() { # expect STATUS: checks the last request's status
  [ "$status" = "$1" ] || fail "$last: expected status $1, got $status; body: $(body)"
}
# jq-like checks with python: jtrue EXPR (j is the body) must print True.
jtrue() {
  local got
  got=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(bool(eval(sys.argv[2])))' \
    "$tmp/body" "$1" 2>&1)
  [ "$got" = "True" ] || fail "$last: expected $1; body: $(body) ($got)"
}
jval() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1"; }
detail_has() { # the JSON error names the field / reason
  jtrue "'detail' in j and isinstance(j['detail'], str) and '$1' in j['detail']"
}
field_is() { # the JSON error names the request field it is about in "field" (what the web UI places it by)
  jtrue "j.get('field') == '$1'"
}
refused() { # refused STATUS FIELD [WORDS]: the last request got STATUS, its detail holding WORDS, its field FIELD
  expect "$1"
  [ -z "${3:-}" ] || detail_has "$3"
  field_is "$2"
}
no_field() { # an error about no one field has no "field"
  jtrue "'field' not in j"
}
header() { grep -i "^$1:" "$tmp/headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }

# ---- fixtures ----
fx=$tmp/fixtures
mkdir -p "$fx" "$tmp/outside"
if command -v espeak-ng >/dev/null; then
  espeak-ng -w "$fx/speech.wav" "This is a reference sample for the voice box test. It lasts a few seconds." ||
    fail "espeak-ng could not make the fixture"
else
  sox -n -r 22050 -c 1 "$fx/speech.wav" synth 5 sine 220 vol 0.4
fi
sox "$fx/speech.wav" "$fx/speech.flac"
sox -n -r 48000 -c 2 "$fx/long_ok.wav" synth 25 sine 300 vol 0.3 # 25 s stereo, 4.8 MB: still valid
sox -n -r 48000 -c 2 "$fx/mid.wav" synth 6 sine 300 vol 0.3      # 1.2 MB, for a rate-limited upload
sox -n -r 24000 -c 1 "$fx/short.wav" synth 1 sine 300 vol 0.5
sox -n -r 24000 -c 1 "$fx/long.wav" synth 40 sine 300 vol 0.5
sox -n -r 24000 -c 1 "$fx/silent.wav" trim 0 5
echo "this is plain text, not audio" >"$fx/text.wav"
truncate -s 51M "$fx/big.wav"
echo "secret outside the data dir" >"$tmp/outside/secret.txt"
outside_state() { find "$tmp/outside" -printf '%p %s %T@ %m\n' | sort | md5sum; }
outside_before=$(outside_state)

# ---- history rows, made through the studio before the server starts ----
[ -x "$seeder" ] || { fail "no loadtest binary at $seeder (needed to seed history)"; exit 1; }
seed_pid=$("$seeder" seed "$data" 5 2>>"$tmp/server.out" | tail -n 1)
[ -n "$seed_pid" ] || fail "seeding history failed: $(tail -n 3 "$tmp/server.out")"

start_server

# ---- root, health, tasks, unknown paths ----
req GET /
expect 200
jtrue "j['message'] == 'voicebox API' and isinstance(j['version'], str)"
req GET /health
expect 200
jtrue "j['status'] == 'healthy' and j['model_loaded'] is False and 'gpu_available' in j and 'vram_used_mb' in j and 'backend_type' in j and 'model_size' in j and 'gpu_type' in j and 'model_downloaded' in j"
req GET /tasks/active
expect 200
jtrue "j == {'downloads': [], 'generations': []}"
req GET /no/such/route
expect 404
detail_has "Not Found"
req PATCH /profiles
expect 405

# ---- OpenAPI: every route the router knows is documented ----
req GET /openapi.json
expect 200
cp "$tmp/body" "$tmp/openapi.json"
"$bin" serve --routes >"$tmp/routes.txt" || fail "voicebox serve --routes failed"
[ "$(wc -l <"$tmp/routes.txt")" -ge 20 ] || fail "serve --routes listed only $(wc -l <"$tmp/routes.txt") routes"
python3 - "$tmp/openapi.json" "$tmp/routes.txt" <<'EOF' || fail "the OpenAPI document misses routes (above)"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3."), doc["openapi"]
missing = []
for line in open(sys.argv[2]):
    method, path = line.split()
    op = doc["paths"].get(path, {}).get(method.lower())
    if not op or "200" not in op.get("responses", {}):
        missing.append(f"{method} {path}")
for m in missing:
    print("not in /openapi.json:", m)
# every $ref resolves, every {param} of a path is declared as a path parameter
schemas = doc["components"]["schemas"]
def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)
bad = [r for r in refs(doc) if not r.startswith("#/components/schemas/") or r.split("/")[-1] not in schemas]
for r in bad:
    print("unresolved $ref:", r)
import re
for path, item in doc["paths"].items():
    for method, op in item.items():
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        for name in re.findall(r"{(\w+)}", path):
            if name not in declared:
                bad.append(name)
                print(f"{method} {path}: path parameter {name} not declared")
sys.exit(1 if missing or bad else 0)
EOF
# the limits and enums it states are the studio's rules (checked against what the server enforces below)
schema() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["components"]["schemas"]; print(eval(sys.argv[2]))' "$tmp/openapi.json" "$1"; }
name_max=$(schema "s['ProfileCreate']['properties']['name']['maxLength']")
desc_max=$(schema "s['ProfileCreate']['properties']['description']['maxLength']")
[ "$name_max" = 100 ] && [ "$desc_max" = 500 ] || fail "openapi: name/description maxLength $name_max/$desc_max, expected 100/500"
[ "$(schema "s['Language']['enum']")" = "['zh', 'en', 'ja', 'ko', 'de', 'fr', 'ru', 'pt', 'es', 'it']" ] ||
  fail "openapi: Language enum is $(schema "s['Language']['enum']")"
[ "$(schema "(s['ModelSize']['enum'], s['ModelSize']['default'], s['ModelName']['enum'])")" = \
  "(['1.7B', '0.6B'], '1.7B', ['qwen-tts-1.7B', 'qwen-tts-0.6B', 'whisper-base', 'whisper-small', 'whisper-medium', 'whisper-large', 'whisper-turbo'])" ] ||
  fail "openapi: model sizes/names differ from the studio's table"
[ "$(schema "s['Error']['properties']['field']['type']")" = string ] || fail "openapi: Error has no 'field'"

# ---- profiles ----
req POST /profiles -H 'Content-Type: application/json' -d '{"name": "Alice", "description": "first", "language": "en"}'
expect 200
jtrue "j['name'] == 'Alice' and j['language'] == 'en' and j['description'] == 'first' and len(j['id']) == 36"
alice=$(jval "j['id']")
req POST /profiles -H 'Content-Type: application/json' -d '{"name": "Alice"}'
refused 400 name "already exists"
req POST /profiles -H 'Content-Type: application/json' -d '{"name": '
refused 400 body "JSON"
req POST /profiles -H 'Content-Type: application/json' -d '[1, 2]'
refused 422 body
req POST /profiles -H 'Content-Type: application/json' -d '{}'
refused 422 name "name"
name101=$(printf 'n%.0s' $(seq 1 $((name_max + 1))))
req POST /profiles -H 'Content-Type: application/json' -d "{\"name\": \"$name101\"}"
refused 422 name "name"
req POST /profiles -H 'Content-Type: application/json' -d "{\"name\": \"${name101:1}\"}"
expect 200
req POST /profiles -H 'Content-Type: application/json' -d '{"name": "Bob", "language": "xx"}'
refused 422 language "language"
req POST /profiles -H 'Content-Type: application/json' -d "{\"name\": \"Bob\", \"description\": \"$(printf 'd%.0s' $(seq 1 $((desc_max + 1))))\"}"
refused 422 description "description"
req POST /profiles -H 'Content-Type: application/json' -d '{"name": 5}'
refused 422 name "name"
req POST /profiles -H 'Content-Type: application/json' --data-binary @"$fx/big.wav"
refused 413 body
req POST /profiles -H 'Content-Type: application/json' -d '{"name": "Bob", "language": "de"}'
expect 200
bob=$(jval "j['id']")
req GET /profiles
expect 200
jtrue "isinstance(j, list) and {'Alice', 'Bob'} <= {p['name'] for p in j}"
req GET "/profiles/$alice"
expect 200
jtrue "j['id'] == '$alice' and j['name'] == 'Alice'"
req GET /profiles/00000000-0000-4000-8000-000000000000
expect 404
no_field
req GET /profiles/not-a-uuid
expect 404
req PUT "/profiles/$bob" -H 'Content-Type: application/json' -d '{"name": "Robert", "language": "fr"}'
expect 200
jtrue "j['name'] == 'Robert' and j['language'] == 'fr'"
req PUT "/profiles/$bob" -H 'Content-Type: application/json' -d '{"name": "Alice"}'
expect 400
detail_has "already exists"
req PUT /profiles/00000000-0000-4000-8000-000000000000 -H 'Content-Type: application/json' -d '{"name": "X"}'
expect 404
req PUT "/profiles/$bob" -H 'Content-Type: application/json' -d '{"name": "x",'
expect 400

# ---- samples ----
req POST "/profiles/$alice/samples" -F "file=@$fx/speech.wav" -F "reference_text=This is a reference sample."
expect 200
jtrue "j['profile_id'] == '$alice' and j['reference_text'] == 'This is a reference sample.' and 2 <= j['duration'] <= 30"
sid=$(jval "j['id']")
req POST "/profiles/$alice/samples" -F "file=@$fx/speech.flac;type=audio/flac" -F "reference_text=The same, as FLAC."
expect 200
sid2=$(jval "j['id']")
req POST /profiles/00000000-0000-4000-8000-000000000000/samples -F "file=@$fx/speech.wav" -F "reference_text=x"
expect 404
req POST "/profiles/$alice/samples" -F "file=@$fx/speech.wav"
refused 422 reference_text "reference_text"
req POST "/profiles/$alice/samples" -F "reference_text=no file"
refused 422 file "file"
req POST "/profiles/$alice/samples" -F "file=@$fx/text.wav" -F "reference_text=text"
refused 415 file
for f in short long silent; do
  req POST "/profiles/$alice/samples" -F "file=@$fx/$f.wav" -F "reference_text=$f"
  expect 422
  field_is file
done
req POST "/profiles/$alice/samples" -F "file=@$fx/speech.wav" -F "reference_text="
refused 422 reference_text "reference_text"
req POST "/profiles/$alice/samples" -F "file=@$fx/big.wav" -F "reference_text=big"
refused 413 file
# the same without a Content-Length: the cap is enforced while the body streams
req POST "/profiles/$alice/samples" -H 'Transfer-Encoding: chunked' -F "file=@$fx/big.wav" -F "reference_text=big"
refused 413 file
req POST "/profiles/$alice/samples" -H 'Content-Type: application/json' -d '{"reference_text": "x"}'
expect 415
req POST "/profiles/$alice/samples" -H 'Content-Type: multipart/form-data; boundary=xyz' --data-binary 'garbage'
expect 400
# hand-made multipart bodies: what the parser must accept and what it must refuse
python3 - "$fx/speech.wav" "$fx" <<'PY'
import sys
wav, out = open(sys.argv[1], "rb").read(), sys.argv[2]
def part(name, data, headers=b""):
    return headers + b'Content-Disposition: form-data; name="' + name + b'"\r\n\r\n' + data
def body(b, parts, pre=b"", post=b"\r\n", pad=b""):
    s = pre + b"--" + b
    for p in parts:
        s += pad + b"\r\n" + p + b"\r\n--" + b
    return s + b"--" + post
text = part(b"reference_text", b"Line one.\r\n--a lookalike boundary\r\nline three.")
audio = b'content-type: audio/wav\r\ncontent-disposition: form-data; name="file"; filename="s.wav"\r\n\r\n' + wav
def save(name, data):
    open(out + "/" + name, "wb").write(data)
# a quoted boundary using the characters RFC 2046 allows, preamble, epilogue, padding, lowercase headers
save("mp_ok.bin", body(b"a'(+_,-./:=? b", [text, audio, part(b"extra", b"ignored")],
                       pre=b"preamble to ignore\r\n", post=b"\r\nepilogue", pad=b" \t"))
save("mp_unclosed.bin", body(b"XyZ", [text, audio])[:-8])
save("mp_noname.bin", body(b"XyZ", [b"Content-Disposition: form-data\r\n\r\nx"]))
save("mp_bighdr.bin", body(b"XyZ", [part(b"a", b"b", b"X-Junk: " + b"j" * 9000 + b"\r\n")]))
save("mp_many.bin", body(b"XyZ", [part(b"f%d" % i, b"v") for i in range(20)]))
save("mp_longtext.bin", body(b"XyZ", [audio, part(b"reference_text", b"t" * 70000)]))
PY
mp() { # mp FILE BOUNDARY: posts a prepared body as a sample upload
  req POST "/profiles/$alice/samples" -H "Content-Type: multipart/form-data; boundary=$2" --data-binary @"$fx/$1"
}
mp mp_ok.bin "\"a'(+_,-./:=? b\""
expect 200
jtrue "j['reference_text'] == 'Line one.\r\n--a lookalike boundary\r\nline three.'"
mp_sid=$(jval "j['id']")
for bad in mp_unclosed.bin mp_noname.bin mp_bighdr.bin mp_many.bin; do
  mp $bad XyZ
  expect 400
done
mp mp_longtext.bin XyZ
refused 422 reference_text "reference_text"
req DELETE "/profiles/samples/$mp_sid"
expect 200

req GET "/profiles/$alice/samples"
expect 200
jtrue "[s['id'] for s in j] == ['$sid', '$sid2']"
req GET /profiles/00000000-0000-4000-8000-000000000000/samples
expect 404
req PUT "/profiles/samples/$sid" -H 'Content-Type: application/json' -d '{"reference_text": "Changed text."}'
expect 200
jtrue "j['reference_text'] == 'Changed text.'"
req PUT "/profiles/samples/$sid" -H 'Content-Type: application/json' -d '{"reference_text": ""}'
expect 422
detail_has "reference_text"
req PUT /profiles/samples/00000000-0000-4000-8000-000000000000 -H 'Content-Type: application/json' -d '{"reference_text": "x"}'
expect 404

# sample audio, whole and in ranges
req GET "/samples/$sid"
expect 200
[ "$(header Content-Type)" = "audio/wav" ] || fail "GET /samples: Content-Type is '$(header Content-Type)'"
[ "$(head -c 4 "$tmp/body")" = "RIFF" ] || fail "GET /samples: the body is not a WAV file"
cp "$tmp/body" "$tmp/sample_full.wav"
size=$(stat -c %s "$tmp/sample_full.wav")
check_range() { # check_range RANGE FIRST LAST
  req GET "/samples/$sid" -H "Range: bytes=$1"
  expect 206
  [ "$(header Content-Range)" = "bytes $2-$3/$size" ] ||
    fail "Range $1: Content-Range '$(header Content-Range)', expected 'bytes $2-$3/$size'"
  cmp -s "$tmp/body" <(tail -c +$(($2 + 1)) "$tmp/sample_full.wav" | head -c $(($3 - $2 + 1))) ||
    fail "Range $1: the body is not bytes $2-$3 of the file"
}
check_range 0-99 0 99
check_range 1000-1999 1000 1999
check_range -50 $((size - 50)) $((size - 1))
check_range 44- 44 $((size - 1))
check_range "100-$((size + 500))" 100 $((size - 1))
req GET "/samples/$sid" -H "Range: bytes=$size-"
expect 416
[ "$(header Content-Range)" = "bytes */$size" ] || fail "416: Content-Range '$(header Content-Range)'"
req GET "/samples/$sid" -H "Range: bytes=abc"
expect 416
req GET "/samples/$sid" -H "Range: bytes=5-2"
expect 416
req GET /samples/00000000-0000-4000-8000-000000000000
expect 404
req DELETE "/profiles/samples/$sid2"
expect 200
req GET "/samples/$sid2"
expect 404
req DELETE "/profiles/samples/$sid2"
expect 404

# ---- history (rows seeded through the studio) ----
req GET /history
expect 200
jtrue "j['total'] == 5 and len(j['items']) == 5 and all(i['profile_name'] == 'history seed' for i in j['items'])"
gid=$(jval "j['items'][0]['id']")
gid2=$(jval "j['items'][1]['id']")
req GET "/history?profile_id=$seed_pid&limit=2&offset=1"
expect 200
jtrue "j['total'] == 5 and len(j['items']) == 2"
req GET "/history?profile_id=$alice"
expect 200
jtrue "j['total'] == 0 and j['items'] == []"
req GET "/history?search=line%203"
expect 200
jtrue "j['total'] == 1 and j['items'][0]['text'] == 'seeded line 3'"
for bad in "limit=0" "limit=abc" "offset=-1"; do
  req GET "/history?$bad"
  expect 422
  detail_has "${bad%%=*}"
  field_is "${bad%%=*}"
done
req GET "/history?limit=1000"   # clamped to a page of 100, as the 0.1 Voicebox app asks for 1000
expect 200
jtrue "j['total'] == 5 and len(j['items']) == 5"
req GET /history/stats
expect 200
jtrue "j['total_generations'] == 5 and abs(j['total_duration_seconds'] - 2.5) < 0.01 and j['generations_by_profile'].get('$seed_pid') == 5"
req GET "/history/$gid"
expect 200
jtrue "j['id'] == '$gid' and j['profile_id'] == '$seed_pid' and j['status'] == 'completed'"
req GET /history/00000000-0000-4000-8000-000000000000
expect 404
req GET "/audio/$gid"
expect 200
[ "$(head -c 4 "$tmp/body")" = "RIFF" ] || fail "GET /audio: the body is not a WAV file"
req GET "/audio/$gid" -H "Range: bytes=0-43"
expect 206
[ "$(stat -c %s "$tmp/body")" = 44 ] || fail "GET /audio Range 0-43: got $(stat -c %s "$tmp/body") bytes"
req GET "/history/$gid/export-audio"
expect 200
header Content-Disposition | grep -q attachment || fail "export-audio: no attachment Content-Disposition"
req GET /audio/00000000-0000-4000-8000-000000000000
expect 404
req DELETE "/history/$gid2"
expect 200
req GET "/history/$gid2"
expect 404
req GET "/audio/$gid2"
expect 404
req DELETE "/history/$gid2"
expect 404

# ---- path traversal: 404 and nothing outside the data dir touched ----
for path in \
  "/profiles/../../outside/secret.txt" "/profiles/..%2F..%2Foutside%2Fsecret.txt" \
  "/samples/%2e%2e%2f%2e%2e%2foutside%2fsecret.txt" "/samples/.." "/samples/%2e%2e" \
  "/audio/..%2F..%2Foutside%2Fsecret.txt" "/audio//etc/passwd" "/audio/%2Fetc%2Fpasswd" \
  "/history/%2e%2e%2fvoicebox.db" "/history/..%2Fvoicebox.db/export-audio" "/../../etc/passwd" \
  "/%2e%2e/%2e%2e/etc/passwd" "/..%2f..%2fetc%2fpasswd" "/profiles/$alice/..%2F..%2F..%2Foutside" \
  "/samples/$tmp/outside/secret.txt" "/%2Fetc%2Fpasswd"; do
  for method in GET DELETE; do
    req $method "$path"
    expect 404
    grep -q -e "secret outside" -e "root:" "$tmp/body" && fail "$method $path leaked a file outside the data dir"
  done
done
req PUT "/profiles/..%2F..%2Foutside" -H 'Content-Type: application/json' -d '{"name": "evil"}'
expect 404
req POST "/profiles/..%2F..%2Foutside/samples" -F "file=@$fx/speech.wav" -F "reference_text=x"
expect 404
[ "$(outside_state)" = "$outside_before" ] ||
  fail "a file outside the data dir changed"
[ "$(cat "$tmp/outside/secret.txt")" = "secret outside the data dir" ] || fail "secret.txt changed"

# ---- CORS ----
req GET /health -H "Origin: http://evil.example"
expect 403
req GET /health -H "Origin: http://127.0.0.1:$port"
expect 200
[ "$(header Access-Control-Allow-Origin)" = "http://127.0.0.1:$port" ] || fail "own origin not echoed in ACAO"
req OPTIONS /profiles -H "Origin: http://localhost:$port" -H "Access-Control-Request-Method: POST" \
  -H "Access-Control-Request-Headers: content-type"
expect 204
header Access-Control-Allow-Methods | grep -q POST || fail "preflight: no POST in Access-Control-Allow-Methods"
req OPTIONS /profiles -H "Origin: http://evil.example" -H "Access-Control-Request-Method: POST"
expect 403
# DNS rebinding: a loopback-bound server answers loopback Host names only
req GET /profiles -H "Host: evil.example:$port"
expect 403
detail_has "Host"
for host in "localhost:$port" "127.0.0.1:$port" "localhost"; do
  req GET /health -H "Host: $host"
  expect 200
done

# ---- the log: one line per request ----
grep -q "GET /health 200" "$tmp/server.log" || fail "server.log has no 'GET /health 200' line"
grep -q "POST /profiles 422" "$tmp/server.log" || fail "server.log has no 'POST /profiles 422' line"

# ---- restart on the same data dir: everything is still there ----
req GET /profiles
cp "$tmp/body" "$tmp/profiles_before.json"
req GET "/profiles/$alice/samples"
cp "$tmp/body" "$tmp/samples_before.json"
req GET "/history?limit=100"
cp "$tmp/body" "$tmp/history_before.json"
stop_server
grep -q "server stopped" "$tmp/server.log" || fail "no 'server stopped' line after SIGTERM"
mkdir -p "$tmp/web/assets"
echo "<!doctype html><title>voicebox ui</title>" >"$tmp/web/index.html"
echo "console.log('ui')" >"$tmp/web/assets/app.js"
echo "hidden" >"$tmp/web/.env"
VOICEBOX_CORS_ORIGINS="http://ui.example, https://other.example" start_server --web-dir "$tmp/web"
for what in "profiles:/profiles" "samples:/profiles/$alice/samples" "history:/history?limit=100"; do
  req GET "${what#*:}"
  expect 200
  cmp -s "$tmp/body" "$tmp/${what%%:*}_before.json" || fail "after a restart GET ${what#*:} differs: $(body)"
done
req GET "/samples/$sid"
cmp -s "$tmp/body" "$tmp/sample_full.wav" || fail "after a restart the sample audio differs"

# static files and the configured CORS origins
req GET / -H "Accept: text/html,application/xhtml+xml"
expect 200
grep -q "voicebox ui" "$tmp/body" || fail "GET / with a web dir: index.html not served to a browser"
req GET /
expect 200
jtrue "j['message'] == 'voicebox API'"  # API clients keep the JSON greeting even with the UI installed
req GET /assets/app.js
expect 200
header Content-Type | grep -q javascript || fail "app.js Content-Type '$(header Content-Type)'"
for path in /.env /assets/../.env /assets/..%2F.env /%2e%2e/outside/secret.txt /assets/missing.js; do
  req GET "$path"
  expect 404
done
req GET /health -H "Origin: https://other.example"
expect 200
[ "$(header Access-Control-Allow-Origin)" = "https://other.example" ] || fail "VOICEBOX_CORS_ORIGINS not honoured"
req GET /health -H "Host: ui.example" # a reverse proxy for a listed origin
expect 200
req GET /health -H "Host: unlisted.example"
expect 403

# ---- SIGTERM with an upload in flight: it completes, then the server exits 0 ----
curl -s -o "$tmp/slow.json" -w '%{http_code}' --limit-rate 400k -F "file=@$fx/mid.wav" \
  -F "reference_text=slow upload" "$base/profiles/$bob/samples" >"$tmp/slow.status" &
curl_pid=$!
sleep 1
kill -TERM "$pid"
wait $curl_pid
[ "$(cat "$tmp/slow.status")" = 200 ] ||
  fail "an upload in flight at SIGTERM got $(cat "$tmp/slow.status"): $(head -c 300 "$tmp/slow.json")"
wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM with a request in flight"
pid=

# ---- streams (server-sent events): many open at once, some dropped by their clients, the rest cut by
# SIGTERM; /health stays fast meanwhile and the server still exits 0 promptly ----
export HF_HOME=$tmp/hf HF_ENDPOINT=http://127.0.0.1:9 # no download can start: the streams only heartbeat
start_server
stream_pids=()
for i in $(seq 1 24); do
  if [ $((i % 2)) = 0 ]; then # half hang up while parked
    curl -sN --max-time 2.5 "$base/models/progress/qwen-tts-1.7B" >"$tmp/sse.$i" 2>/dev/null &
  else
    curl -sN --max-time 30 "$base/models/progress/qwen-tts-0.6B" >"$tmp/sse.$i" 2>/dev/null &
  fi
  stream_pids+=($!)
done
worst=0
for _ in $(seq 1 30); do
  ms=$(curl -s -o /dev/null -w '%{time_total}' "$base/health" | awk '{printf "%d", $1 * 1000}')
  [ "$ms" -gt "$worst" ] && worst=$ms
  sleep 0.1
done
echo "GET /health with 24 streams open: worst ${worst} ms"
[ "$worst" -lt 1000 ] || fail "GET /health took ${worst} ms while streams were open"
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"
rc=$?
t1=$(date +%s%N)
pid=
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM with streams open: $(tail -n 20 "$tmp/server.out")"
[ $(((t1 - t0) / 1000000)) -lt 10000 ] || fail "SIGTERM with streams open took $(((t1 - t0) / 1000000)) ms"
for p in "${stream_pids[@]}"; do wait "$p" 2>/dev/null; done
grep -q "heartbeat" "$tmp/sse.1" || fail "a progress stream sent no heartbeat: $(head -c 200 "$tmp/sse.1")"
unset HF_HOME HF_ENDPOINT

# ---- POST /shutdown: loopback only ----
start_server --host 0.0.0.0
lan=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -n 1)
if [ -n "$lan" ]; then
  status=$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST "http://$lan:$port/shutdown")
  last="POST /shutdown from $lan"
  expect 403
  # the UI opened at the server's own address is same-origin; another site is not
  status=$(curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' -H "Origin: http://$lan:$port" \
    "http://$lan:$port/health")
  last="GET /health from the UI at http://$lan:$port"
  expect 200
  [ "$(header Access-Control-Allow-Origin)" = "http://$lan:$port" ] || fail "$last: no ACAO for its own origin"
  status=$(curl -s -o "$tmp/body" -w '%{http_code}' -H "Origin: http://evil.example" "http://$lan:$port/health")
  last="GET /health from http://evil.example"
  expect 403
else
  echo "note: no non-loopback address here; the 403 for remote /shutdown is not exercised"
fi
req POST /shutdown
expect 200
wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "exit status $rc after POST /shutdown"
pid=

# ---- kill -9 in the middle of uploads: no row without its file, no file without its row ----
for delay in 0.05 0.15 0.3 0.5; do
  start_server
  curl -s -o /dev/null -F "file=@$fx/long_ok.wav" -F "reference_text=crash" "$base/profiles/$bob/samples" &
  curl_pid=$!
  sleep $delay
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  wait $curl_pid
  pid=
done
start_server
rows=$tmp/rows.txt
: >"$rows"
for p in "$alice" "$bob"; do
  req GET "/profiles/$p/samples"
  expect 200
  jval "'\n'.join(s['id'] for s in j)" >>"$rows"
done
while read -r s; do
  [ -z "$s" ] && continue
  req GET "/samples/$s"
  expect 200
done <"$rows"
files=$(cd "$data" && find profiles -type f | sort)
for f in $files; do
  id=$(basename "$f" .wav)
  grep -qx "$id" "$rows" || fail "after kill -9: file $f has no sample row"
done
[ "$(echo "$files" | grep -c .)" = "$(grep -c . "$rows")" ] ||
  fail "after kill -9: $(grep -c . "$rows") sample rows but files: $files"
echo "after kill -9: $(grep -c . "$rows") sample rows, each with its file"

# ---- deleting a profile removes its samples and files ----
req DELETE "/profiles/$alice"
expect 200
req GET "/profiles/$alice"
expect 404
req GET "/samples/$sid"
expect 404
[ -e "$data/profiles/$alice" ] && [ -n "$(ls -A "$data/profiles/$alice")" ] && fail "profile dir still holds files"
req DELETE "/profiles/$alice"
expect 404
stop_server

if [ "$fails" -ne 0 ]; then
  echo "test_api: $fails check(s) failed; server log tail:"
  tail -n 15 "$tmp/server.log"
  exit 1
fi
echo "test_api: all checks passed"
