#!/usr/bin/env python3
"""test_generation_e2e.py — issue 7's seed checklist, automated, against the real server over HTTP.

A local Hub mirror (tests/hub_mirror.py) serves the golden tiny-b as Qwen/Qwen3-TTS-12Hz-1.7B-Base and tiny-a
as Qwen/Qwen3-TTS-12Hz-0.6B-Base; HF_ENDPOINT and HF_HOME point at it and at a temp dir; `voicebox serve`
runs on a free port with a temp data dir. Every step goes through the HTTP API and checks the server log
and the cache folder, as a user would. Usage: test_generation_e2e.py VOICEBOX_BIN GOLDEN_DIR
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from studio_http import check, failures, free_port  # noqa: E402

REPO_17 = "Qwen/Qwen3-TTS-12Hz-1.7B-Base"
REPO_06 = "Qwen/Qwen3-TTS-12Hz-0.6B-Base"
REF_TEXT = "The quick brown fox jumps over the lazy dog."


class Studio:
    """A server driver whose request() gives (status, parsed JSON or the raw bytes); test_takes.py drives
    the studio through it too (studio_http.Studio's request/json split is the other tests')."""

    def __init__(self, binary, data_dir, log_file, env):
        self.binary, self.data_dir, self.log_file, self.env = binary, data_dir, log_file, env
        self.proc = None
        self.base = None

    def start(self):
        port = free_port()
        self.base = "http://127.0.0.1:%d" % port
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--port", str(port), "--data-dir", self.data_dir, "--log-file", self.log_file],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("voicebox serve did not answer on " + self.base)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None

    def request(self, method, path, body=None, headers=None, timeout=600):
        data = None
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif body is not None:
            data = body
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def upload_sample(self, profile_id, path, text):
        boundary = "----voiceboxtest%d" % time.time_ns()
        with open(path, "rb") as f:
            audio = f.read()
        body = b"".join([
            b"--" + boundary.encode() + b"\r\n",
            b'Content-Disposition: form-data; name="reference_text"\r\n\r\n', text.encode(), b"\r\n",
            b"--" + boundary.encode() + b"\r\n",
            b'Content-Disposition: form-data; name="file"; filename="ref.wav"\r\n',
            b"Content-Type: audio/wav\r\n\r\n", audio, b"\r\n",
            b"--" + boundary.encode() + b"--\r\n"])
        return self.request("POST", "/profiles/%s/samples" % profile_id, body,
                            {"Content-Type": "multipart/form-data; boundary=" + boundary})

    def log(self):
        with open(self.log_file, encoding="utf-8", errors="replace") as f:
            return f.read()


def progress_events(studio, name, timeout=120):
    """Reads GET /models/progress/{name} until the stream ends; returns the parsed data events."""
    events = []
    with urllib.request.urlopen(studio.base + "/models/progress/" + name, timeout=timeout) as r:
        for line in r:
            line = line.decode().strip()
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def cache_files(studio):
    d = os.path.join(studio.data_dir, "cache")
    return sorted(f for f in os.listdir(d) if f.endswith(".prompt"))


def generate(studio, profile_id, size, seed=None, text="Hello there, this is a test."):
    body = {"profile_id": profile_id, "text": text, "language": "en", "model_size": size}
    if seed is not None:
        body["seed"] = seed
    return studio.request("POST", "/generate", body)


class LogWatch:
    """The log lines written since the last mark."""

    def __init__(self, studio):
        self.studio = studio
        self.mark()

    def mark(self):
        self.pos = len(self.studio.log())

    def new(self):
        text = self.studio.log()[self.pos:]
        self.mark()
        return text


def prompt_stage_ms(lines):
    out = []
    for line in lines.splitlines():
        if "Voice prompt stage took" in line:
            out.append(float(line.split("took")[1].split("ms")[0]))
    return out


def main():
    binary, golden = sys.argv[1], sys.argv[2]
    if not os.path.isdir(os.path.join(golden, "tiny-a")):
        print("SKIP: golden fixtures not found")
        return 77
    tmp = tempfile.mkdtemp(prefix="vb-e2e-")
    mirror = None
    studio = None
    try:
        mirror_args = [sys.executable, os.path.join(HERE, "hub_mirror.py"), "--port", "0", "--quiet",
                       "--throttle-kbps", "6000", "--fail-after-bytes", "3000000",
                       "--map", "%s=%s" % (REPO_17, os.path.join(golden, "tiny-b")),
                       "--map", "%s=%s" % (REPO_06, os.path.join(golden, "tiny-a"))]
        mirror = subprocess.Popen(mirror_args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        mirror_port = int(mirror.stdout.readline())
        env = dict(os.environ, HF_ENDPOINT="http://127.0.0.1:%d" % mirror_port, HF_HOME=os.path.join(tmp, "hf"),
                   VOICEBOX_THREADS="2")
        env.pop("HF_HUB_CACHE", None)
        env.pop("HUGGINGFACE_HUB_CACHE", None)
        studio = Studio(binary, os.path.join(tmp, "data"), os.path.join(tmp, "server.log"), env)
        studio.start()
        log = LogWatch(studio)

        # 0. a profile with a sample (a take before any download is checked at the end, with 0.6B)
        status, body = studio.request("POST", "/profiles", {"name": "Alice", "language": "en"})
        check(status == 200, "create profile Alice (%s)" % status)
        alice = body["id"]
        status, body = studio.upload_sample(alice, os.path.join(golden, "audio", "ref_24k.wav"), REF_TEXT)
        check(status == 200, "upload Alice's reference sample (%s %s)" % (status, body if status != 200 else ""))

        # 1. download both models, watching progress (the mirror drops each file once at 3 MB: resume)
        for name in ("qwen-tts-1.7B", "qwen-tts-0.6B"):
            status, body = studio.request("POST", "/models/download", {"model_name": name})
            check(status == 200, "POST /models/download %s (%s)" % (name, status))
            events = progress_events(studio, name)
            statuses = [e["status"] for e in events]
            check(events and statuses[-1] == "complete" and "downloading" in statuses,
                  "%s: %d progress events, downloading then complete (last %s)" %
                  (name, len(events), events[-1] if events else None))
            check(all(set(e) >= {"model_name", "current", "total", "progress", "filename", "status"} for e in events),
                  "%s: every event has model_name,current,total,progress,filename,status" % name)
        status, body = studio.request("GET", "/models/status")
        check(status == 200 and all(m["downloaded"] for m in body["models"] if not m["model_name"].startswith("whisper-")),
              "both models downloaded")
        hub = os.path.join(tmp, "hf", "hub")
        check(os.path.isfile(os.path.join(hub, "models--Qwen--Qwen3-TTS-12Hz-1.7B-Base", "refs", "main")),
              "the Hub cache layout (refs/main) is there")

        # 2. 1.7B: success, a new .prompt, "Creating voice prompt (not cached)..."
        log.mark()
        status, g1 = generate(studio, alice, "1.7B", seed=42)
        lines = log.new()
        check(status == 200 and g1.get("duration", 0) > 0, "generate 1.7B (%s)" % status)
        check("Creating voice prompt (not cached)..." in lines, "log: Creating voice prompt (not cached)...")
        check(len(cache_files(studio)) == 1, "one .prompt file after the first generation (%s)" % cache_files(studio))
        miss_ms = prompt_stage_ms(lines)
        status, h = studio.request("GET", "/health")
        check(h.get("model_loaded") is True and h.get("model_size") == "1.7B", "/health: 1.7B loaded")

        # 3. 1.7B again: cache hit, no new file; same seed -> identical audio
        status, g2 = generate(studio, alice, "1.7B", seed=42)
        lines = log.new()
        check(status == 200, "generate 1.7B again (%s)" % status)
        check("Using cached voice prompt for 1.7B model" in lines, "log: Using cached voice prompt for 1.7B model")
        check(len(cache_files(studio)) == 1, "still one .prompt file")
        hit_ms = prompt_stage_ms(lines)
        a1 = open(g1["audio_path"], "rb").read()
        a2 = open(g2["audio_path"], "rb").read()
        check(a1 == a2, "same seed twice -> identical audio (%d bytes)" % len(a1))

        # 4. switch to 0.6B: load + generate; no size mismatch; a second .prompt file
        status, body = studio.request("POST", "/models/load?model_size=0.6B")
        check(status == 200, "POST /models/load?model_size=0.6B (%s)" % status)
        status, h = studio.request("GET", "/health")
        check(h.get("model_size") == "0.6B", "/health: 0.6B loaded after the switch")
        status, g3 = generate(studio, alice, "0.6B")
        lines = log.new()
        check(status == 200, "generate 0.6B (%s %s)" % (status, g3 if status != 200 else ""))
        check("size" not in lines.lower() or "mismatch" not in lines.lower(), "no size-mismatch error in the log")
        check("Creating voice prompt (not cached)..." in lines, "0.6B: a new voice prompt was made")
        check(len(cache_files(studio)) == 2, "two .prompt files (%d)" % len(cache_files(studio)))
        check(g3.get("model_size") == "0.6B", "the take records model_size 0.6B")

        # 5. 0.6B again: hit for 0.6B
        status, _ = generate(studio, alice, "0.6B")
        lines = log.new()
        check(status == 200 and "Using cached voice prompt for 0.6B model" in lines, "0.6B again: cache hit")

        # 5b. precision int8: reported by /health and /models/status; the voice prompt does not depend on it
        # (same cache entry); an unknown precision is a 422 naming the field; back to bf16 for what follows
        status, body = studio.request("POST", "/models/load", {"model_size": "0.6B", "precision": "int8"})
        check(status == 200 and body.get("precision") == "int8", "POST /models/load 0.6B int8 (%s %s)" % (status, body))
        status, h = studio.request("GET", "/health")
        check(h.get("model_precision") == "int8", "/health: model_precision int8 (%s)" % h.get("model_precision"))
        status, body = studio.request("GET", "/models/status")
        prec = {m["model_size"]: m.get("precision") for m in body["models"]}
        check(prec.get("0.6B") == "int8" and prec.get("1.7B") is None, "/models/status: 0.6B int8 (%s)" % prec)
        status, _ = generate(studio, alice, "0.6B")
        lines = log.new()
        check(status == 200 and "Using cached voice prompt for 0.6B model" in lines and "Creating voice" not in lines,
              "0.6B int8: generates, with the same cached voice prompt")
        status, body = studio.request("POST", "/models/load", {"model_size": "0.6B", "precision": "fp8"})
        check(status == 422 and "precision" in str(body.get("detail")), "unknown precision: 422 (%s %s)" % (status, body))
        status, body = studio.request("POST", "/models/load?model_size=0.6B&precision=bf16")
        status, h = studio.request("GET", "/health")
        check(status == 200 and h.get("model_precision") == "bf16", "back to bf16 (%s)" % h.get("model_precision"))

        # 6. back to 1.7B: the 1.7B entry is used
        status, _ = generate(studio, alice, "1.7B")
        lines = log.new()
        check(status == 200 and "Using cached voice prompt for 1.7B model" in lines and "Creating voice" not in lines,
              "back to 1.7B: the 1.7B entry is used")

        # 7. rapid switching
        for size in ("1.7B", "0.6B", "1.7B", "0.6B"):
            status, body = generate(studio, alice, size)
            lines = log.new()
            check(status == 200 and ("Using cached voice prompt for %s model" % size) in lines,
                  "rapid switch to %s: success with the %s entry" % (size, size))
        check(len(cache_files(studio)) == 2, "rapid switching made no new entries")

        # 8. two profiles x two sizes -> four distinct entries
        status, body = studio.request("POST", "/profiles", {"name": "Bob", "language": "en"})
        bob = body["id"]
        long_text = ("Please call Stella. Ask her to bring these things with her from the store: six spoons of fresh "
                     "snow peas, five thick slabs of blue cheese, and maybe a snack for her brother Bob.")
        status, body = studio.upload_sample(bob, os.path.join(golden, "audio", "long_24k.wav"), long_text)
        check(status == 200, "upload Bob's sample (%s)" % status)
        for size in ("1.7B", "0.6B"):
            status, _ = generate(studio, bob, size)
            check(status == 200, "generate for Bob with %s (%s)" % (size, status))
        check(len(cache_files(studio)) == 4, "two profiles x two sizes -> 4 cache entries (%d)" % len(cache_files(studio)))

        # 9. restart: the .prompt files persist and are hit
        before = cache_files(studio)
        studio.stop()
        studio.start()
        log.mark()
        for size in ("1.7B", "0.6B"):
            status, _ = generate(studio, alice, size)
            lines = log.new()
            check(status == 200 and ("Using cached voice prompt for %s model" % size) in lines
                  and "Creating voice" not in lines, "after restart %s: the stored prompt is hit" % size)
        check(cache_files(studio) == before, "after restart the same 4 files")

        # 10. clear the cache: all rebuilt without error
        status, body = studio.request("POST", "/cache/clear")
        check(status == 200 and body.get("files_deleted") == 4, "POST /cache/clear -> files_deleted 4 (%s)" % body)
        check(cache_files(studio) == [], "cache folder empty after clear")
        for size in ("1.7B", "0.6B"):
            status, _ = generate(studio, alice, size)
            lines = log.new()
            check(status == 200 and "Creating voice prompt (not cached)..." in lines,
                  "after clear %s: rebuilt without error" % size)

        # 11. the prompt stage is timed; hits are faster than misses
        print("voice-prompt stage: miss %s ms, hit %s ms" % (miss_ms, hit_ms))
        check(miss_ms and hit_ms and hit_ms[0] < miss_ms[0], "a cache hit is faster than a miss")

        # 12. bad files under the 1.7B key: old format, truncated, 0.6B width -> ignored, rebuilt, no error
        sample_path = studio.request("GET", "/profiles/%s/samples" % alice)[1][0]["audio_path"]
        wav = open(sample_path, "rb").read()
        key17 = hashlib.md5(wav + REF_TEXT.encode() + b"1.7B").hexdigest()
        key06 = hashlib.md5(wav + REF_TEXT.encode() + b"0.6B").hexdigest()
        cache_dir = os.path.join(studio.data_dir, "cache")
        good17 = open(os.path.join(cache_dir, key17 + ".prompt"), "rb").read()
        good06 = open(os.path.join(cache_dir, key06 + ".prompt"), "rb").read()
        old = bytearray(good17)
        struct.pack_into("<I", old, 8, 0)  # format version 0
        struct.pack_into("<I", old, len(old) - 4, zlib.crc32(bytes(old[:-4])) & 0xFFFFFFFF)
        planted = {"old format": bytes(old), "truncated": good17[: len(good17) // 2], "0.6B width": good06}
        for what, data in planted.items():
            studio.stop()  # a fresh process, so the memory cache cannot hide the file
            with open(os.path.join(cache_dir, key17 + ".prompt"), "wb") as f:
                f.write(data)
            studio.start()
            log.mark()
            status, body = generate(studio, alice, "1.7B")
            lines = log.new()
            rebuilt = open(os.path.join(cache_dir, key17 + ".prompt"), "rb").read()
            check(status == 200 and "Creating voice prompt (not cached)..." in lines and rebuilt == good17,
                  "planted %s file under the 1.7B key: ignored (warning logged: %s), rebuilt, no error" %
                  (what, "WARNING" in lines))

        # a take for a model not downloaded starts its download, which the client may follow, and then runs
        status, _ = studio.request("DELETE", "/models/qwen-tts-0.6B")
        check(status == 200, "DELETE /models/qwen-tts-0.6B (%s)" % status)
        result = {}
        taker = threading.Thread(target=lambda: result.update(r=generate(studio, alice, "0.6B")))
        taker.start()
        events = progress_events(studio, "qwen-tts-0.6B")
        taker.join(timeout=300)
        status, body = result.get("r", (None, None))
        check([e["status"] for e in events][-1:] == ["complete"],
              "the take started the 0.6B download; its progress stream ends complete (%d events)" % len(events))
        check(status == 200 and body.get("status") == "completed" and body.get("duration", 0) > 0,
              "the take waited for the download and completed (%s %s)" % (status, body))

        # offline: with the mirror stopped, downloaded models still load and generate
        mirror.terminate()
        mirror.wait()
        mirror = None
        studio.stop()
        studio.start()
        status, body = studio.request("POST", "/models/download", {"model_name": "qwen-tts-0.6B"})
        check(status == 200 and "already" in body.get("message", ""),
              "offline: download of a present model is a no-op (%s %s)" % (status, body))
        status, _ = generate(studio, alice, "0.6B")
        check(status == 200, "offline: 0.6B loads and generates (%s)" % status)

        # FIFO: a long take runs while two more wait; /tasks/active gives their places; they finish in order
        results = {}

        def take(name, text, seed=None):
            results[name] = generate(studio, alice, "0.6B", seed=seed, text=text)

        def active():
            return studio.request("GET", "/tasks/active")[1].get("generations", [])

        def wait_for(pred, what, timeout=120):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                gens = active()
                if pred(gens):
                    return gens
                time.sleep(0.02)
            check(False, "timed out waiting for " + what)
            return []

        # a fixed seed: the tiny model samples its end of speech at random, and with some seeds the "long" take
        # ended after a few frames, before the others could queue behind it (seed 2: thousands of frames)
        threads = [threading.Thread(target=take, args=("long", "The first take is the long one. " * 38, 2))]
        threads[0].start()
        wait_for(lambda g: any(x["status"] == "running" for x in g), "the long take to run")
        for n, name in enumerate(("second", "third")):
            threads.append(threading.Thread(target=take, args=(name, "The %s take." % name)))
            threads[-1].start()
            wait_for(lambda g, n=n: sum(x["status"] == "queued" for x in g) == n + 1, "the %s take to queue" % name)
        gens = active()
        places = [(x["text"].split()[1], x["status"], x["position"]) for x in gens]
        print("queue while the long take runs: %s" % places)
        check([p[1:] for p in places] == [("running", 0), ("queued", 1), ("queued", 2)]
              and places[1][0] == "second" and places[2][0] == "third",
              "GET /tasks/active: one running, the second at position 1, the third at position 2")
        for t in threads:
            t.join(timeout=600)
        done = [results[n][1].get("created_at", "") for n in ("long", "second", "third")]
        check(all(results[n][0] == 200 for n in results) and done == sorted(done),
              "the three takes completed in the order they were asked for (%s)" % done)

        # while a long generation runs: the queue shows progress, other routes answer fast, and deleting its
        # profile mid-generation ends it cleanly (no crash, no take without its profile)
        status, body = studio.request("POST", "/profiles", {"name": "Carol", "language": "en"})
        carol = body["id"]
        studio.upload_sample(carol, os.path.join(golden, "audio", "ref_24k.wav"), REF_TEXT)
        result = {}

        def long_generation():
            # seed 9: long (a random seed ended it after 2 frames in one run, before it was seen running)
            result["status"], result["body"] = generate(studio, carol, "0.6B", seed=9, text="A long take. " * 40)

        worker = threading.Thread(target=long_generation)
        worker.start()
        seen_running, slowest = False, 0.0
        for _ in range(100):
            t0 = time.monotonic()
            for path in ("/health", "/profiles", "/history?limit=5"):
                status, _ = studio.request("GET", path, timeout=10)
                if status != 200:
                    check(False, "GET %s while generating (%s)" % (path, status))
            slowest = max(slowest, time.monotonic() - t0)
            status, tasks = studio.request("GET", "/tasks/active")
            gens = tasks.get("generations", [])
            if gens and gens[0].get("status") == "running" and gens[0].get("frames_done", 0) > 0:
                seen_running = True
                break
            time.sleep(0.05)
        check(seen_running, "GET /tasks/active shows the running generation with frames done (%s)" % gens)
        print("slowest /health + /profiles + /history round while generating: %.1f ms" % (slowest * 1000))
        check(slowest < 1.0, "other routes stay responsive while generating")
        status, _ = studio.request("DELETE", "/profiles/" + carol)
        check(status == 200, "delete the profile mid-generation (%s)" % status)
        t0 = time.monotonic()
        worker.join(timeout=300)
        check(time.monotonic() - t0 < 10, "the take of the deleted profile stopped within %.1f s" % (time.monotonic() - t0))
        check(result.get("status") in (404, 200) and studio.request("GET", "/health")[0] == 200,
              "the generation of a deleted profile ended cleanly (%s %s), server alive" %
              (result.get("status"), result.get("body")))
        status, hist = studio.request("GET", "/history?profile_id=" + carol)
        check(hist.get("total", 0) == 0, "no take left for the deleted profile")

        # errors: unknown profile 404, profile without samples 400, bad field 422
        status, body = generate(studio, "00000000-0000-4000-8000-000000000000", "1.7B")
        check(status == 404, "unknown profile -> 404 (%s)" % status)
        status, body = studio.request("POST", "/profiles", {"name": "Empty", "language": "en"})
        status, body = generate(studio, body["id"], "1.7B")
        check(status == 400, "profile without samples -> 400 (%s %s)" % (status, body))
        status, body = studio.request("POST", "/generate", {"profile_id": alice, "text": "", "model_size": "1.7B"})
        check(status == 422 and "text" in body.get("detail", "") and body.get("field") == "text",
              "empty text -> 422 naming text, field text (%s %s)" % (status, body))
        status, body = studio.request("POST", "/generate", {"profile_id": alice, "text": "hi", "model_size": "3B"})
        check(status == 422 and "model_size" in body.get("detail", "") and body.get("field") == "model_size",
              "model_size 3B -> 422, field model_size (%s %s)" % (status, body))
        status, body = studio.request("POST", "/generate", {"profile_id": alice, "text": "hi", "language": "xx"})
        check(status == 422 and body.get("field") == "language", "language xx -> 422, field language (%s %s)" %
              (status, body))
    finally:
        if studio:
            studio.stop()
        if mirror:
            mirror.terminate()
        if failures:
            print("server log:\n" + open(os.path.join(tmp, "server.log")).read()[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("[FAILED] %d checks failed" % len(failures))
        return 1
    print("[SUCCESS] the generation checklist passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
