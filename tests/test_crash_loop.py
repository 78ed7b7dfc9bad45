#!/usr/bin/env python3
"""test_crash_loop.py — crash consistency (issue 16): the real server on one data dir is killed with SIGKILL at a
random moment while a random workload runs (profiles, sample uploads, takes on the golden tiny model, deletes,
package imports), restarted, and checked, round after round:
  - the server answers; PRAGMA integrity_check is ok and foreign_key_check empty;
  - every row's file exists (rows whose file is gone must be marked missing, never silently dangling);
  - every file under profiles/ and generations/ is named by a row (no temp file, nothing in quarantine/);
  - no take is left queued, downloading, loading_model or generating (crashed takes are failed at start).
Bounded: ROUNDS rounds (default 20) or SECONDS seconds (default 60), whichever ends first. Prints each round
and what was in flight when the server died. The seed is printed (CRASH_SEED=N replays a run's choices).
Usage: test_crash_loop.py VOICEBOX_BIN GOLDEN_DIR
"""
import io
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_generation_e2e as e2e  # noqa: E402  (the Studio driver with an environment)
from studio_http import check, finish, start_mirror, tone  # noqa: E402

UNFINISHED = ("queued", "downloading", "loading_model", "generating")


def wav_bytes(seconds, freq):
    import struct
    import wave
    buf = io.BytesIO()
    with wave.open(buf, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(24000)
        f.writeframes(b"".join(struct.pack("<h", int(x * 32767)) for x in tone(freq, seconds, 0.4)))
    return buf.getvalue()


def multipart(fields, files):
    boundary = "----crashloop%d" % time.time_ns()
    parts = []
    for k, v in fields.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, k, v)).encode())
    for k, (name, data, ctype) in files.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: %s\r\n\r\n'
                      % (boundary, k, name, ctype)).encode() + data + b"\r\n")
    return b"".join(parts) + ("--%s--\r\n" % boundary).encode(), {
        "Content-Type": "multipart/form-data; boundary=" + boundary}


class Workload:
    """Random requests until the server dies; `current` names the one in flight."""

    def __init__(self, studio, rng, wav, package):
        self.studio, self.rng, self.wav, self.package = studio, rng, wav, package
        self.current = None
        self.done = 0
        self.stop = False

    def ids(self, path, key="id"):
        status, body = self.studio.request("GET", path, timeout=10)
        items = body.get("items", []) if isinstance(body, dict) else body if isinstance(body, list) else []
        return [x[key] for x in items if isinstance(x, dict) and key in x]

    def step(self):
        r = self.rng.random()
        s = self.studio
        profiles = self.ids("/profiles")
        if r < 0.15 or not profiles:
            self.current = "create a profile"
            s.request("POST", "/profiles", {"name": "p%d" % self.rng.randrange(10**9)}, timeout=10)
        elif r < 0.40:
            self.current = "upload a sample"
            body, headers = multipart({"reference_text": "a tone"}, {"file": ("t.wav", self.wav, "audio/wav")})
            s.request("POST", "/profiles/%s/samples" % self.rng.choice(profiles), body, headers, timeout=30)
        elif r < 0.60:
            self.current = "queue a take"
            s.request("POST", "/generate?wait=false", {"profile_id": self.rng.choice(profiles), "text": "Hello.",
                                                       "language": "en", "model_size": "0.6B", "seed": 1}, timeout=10)
        elif r < 0.70:
            self.current = "import a profile package"
            body, headers = multipart({}, {"file": ("p.voicebox.zip", self.package, "application/zip")})
            s.request("POST", "/profiles/import", body, headers, timeout=30)
        elif r < 0.80:
            takes = self.ids("/history?limit=100")
            if takes:
                self.current = "delete a take"
                s.request("DELETE", "/history/" + self.rng.choice(takes), timeout=10)
        elif r < 0.90:
            samples = self.ids("/profiles/%s/samples" % self.rng.choice(profiles))
            if samples:
                self.current = "delete a sample"
                s.request("DELETE", "/profiles/samples/" + self.rng.choice(samples), timeout=10)
        elif len(profiles) > 2:
            self.current = "delete a profile"
            s.request("DELETE", "/profiles/" + self.rng.choice(profiles), timeout=10)
        self.done += 1

    def run(self):
        try:
            while not self.stop:
                self.step()
        except Exception:  # the server was killed under the request
            pass


def inspect(data_dir):
    """The invariants; returns a list of what broke."""
    broken = []
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data_dir, "voicebox.db"), uri=True, timeout=30)
    ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    if ok != "ok":
        broken.append("integrity_check: " + ok)
    if db.execute("PRAGMA foreign_key_check").fetchall():
        broken.append("foreign_key_check finds orphan rows")
    named = set()
    for table, col, where in (("profile_samples", "audio_path", "missing = 0"), ("profiles", "avatar_path", "1"),
                              ("generations", "audio_path", "missing = 0")):
        for (rel,) in db.execute("SELECT %s FROM %s WHERE %s IS NOT NULL" % (col, table, col)):
            named.add(rel)
        for (rel,) in db.execute("SELECT %s FROM %s WHERE %s IS NOT NULL AND %s" % (col, table, col, where)):
            if not os.path.isfile(os.path.join(data_dir, rel)):
                broken.append("%s row names %s, which is not there (and is not marked missing)" % (table, rel))
    for status, n in db.execute("SELECT status, count(*) FROM generations GROUP BY status"):
        if status in UNFINISHED:
            broken.append("%d takes still %s after the restart" % (n, status))
    db.close()
    for top in ("profiles", "generations"):
        for root, _, files in os.walk(os.path.join(data_dir, top)):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), data_dir)
                if rel not in named:
                    broken.append("no row names %s" % rel)
    quarantine = os.path.join(data_dir, "quarantine")
    if os.path.isdir(quarantine):
        for root, _, files in os.walk(quarantine):
            broken += ["quarantined: %s" % os.path.relpath(os.path.join(root, f), data_dir) for f in files]
    return broken


def main():
    binary, golden = sys.argv[1], sys.argv[2]
    rounds = int(os.environ.get("ROUNDS", "20"))
    seconds = float(os.environ.get("SECONDS_BOUND", "60"))
    seed = int(os.environ.get("CRASH_SEED", str(time.time_ns() % 100000)))
    rng = random.Random(seed)
    print("seed %d (CRASH_SEED=%d replays the choices; the kill moments still vary)" % (seed, seed), flush=True)
    tmp = tempfile.mkdtemp(prefix="vb-crash-")
    mirror = studio = None
    try:
        mirror, env = start_mirror({e2e.REPO_06: os.path.join(golden, "tiny-a")}, tmp)
        data = os.path.join(tmp, "data")
        studio = e2e.Studio(binary, data, os.path.join(tmp, "server.log"), env)
        studio.start()
        wav = wav_bytes(3, 220)
        status, p = studio.request("POST", "/profiles", {"name": "package source"})
        body, headers = multipart({"reference_text": "a tone"}, {"file": ("t.wav", wav, "audio/wav")})
        studio.request("POST", "/profiles/%s/samples" % p["id"], body, headers)
        status, take = studio.request("POST", "/generate", {"profile_id": p["id"], "text": "Hello.", "language": "en",
                                                            "model_size": "0.6B", "seed": 1}, timeout=300)
        check(status == 200 and take.get("status") == "completed",
              "a first take downloads the tiny model and completes (%s %s)" % (status, take.get("status")))
        status, package = studio.request("GET", "/profiles/%s/export" % p["id"])
        check(status == 200 and zipfile.is_zipfile(io.BytesIO(package)), "a profile package to import (%s)" % status)

        t0 = time.monotonic()
        interrupted = {}
        done = 0
        for n in range(1, rounds + 1):
            if time.monotonic() - t0 > seconds:
                break
            w = Workload(studio, random.Random(rng.random()), wav, package)
            t = threading.Thread(target=w.run, daemon=True)
            t.start()
            time.sleep(rng.uniform(0.1, 2.0))
            what = w.current or "nothing"
            studio.proc.send_signal(signal.SIGKILL)
            studio.proc.wait()
            w.stop = True
            t.join(timeout=30)
            interrupted[what] = interrupted.get(what, 0) + 1
            studio.start()  # answers /health, or raises
            broken = inspect(data)
            print("round %2d: killed during '%s' after %d requests; %s" %
                  (n, what, w.done, "consistent" if not broken else "BROKEN"), flush=True)
            check(not broken, "round %d: after kill -9 during '%s' and a restart: %s" %
                  (n, what, "; ".join(broken[:5]) or "integrity ok, rows <-> files, no unfinished take"))
            done = n
            if broken:
                break
        print("%d rounds in %.1f s; interrupted: %s" % (done, time.monotonic() - t0,
              ", ".join("%s x%d" % kv for kv in sorted(interrupted.items()))), flush=True)
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "voicebox.db"), uri=True, timeout=30)
        counts = [db.execute("SELECT count(*) FROM %s" % t).fetchone()[0] for t in ("profiles", "profile_samples")]
        takes = db.execute("SELECT status, count(*) FROM generations GROUP BY status").fetchall()
        errors = db.execute("SELECT error, count(*) FROM generations WHERE error IS NOT NULL GROUP BY error").fetchall()
        for e, k in errors:
            print("  %d failed takes: %s" % (k, e[:160]))
        db.close()
        print("the data dir now: %d profiles, %d samples, takes %s" % (counts[0], counts[1], dict(takes)))
        check(done >= min(rounds, 3), "at least 3 rounds ran (%d)" % done)
        studio.stop()
        studio = None
        check(not inspect(data), "consistent after a clean stop")
    finally:
        if studio and studio.proc:
            studio.proc.kill()
            studio.proc.wait()
        if mirror:
            mirror.kill()
            mirror.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
