#!/usr/bin/env python3
"""test_disk_full.py — a full drive (issue 16 item 11) against the real `voicebox serve`, on a real full
filesystem: the data dir is a small tmpfs mounted here and filled with a filler file.

Storing a sample upload, a take, an imported profile or take, and an avatar on a drive that is full (or
nearly: the database still has room but the audio does not) answers 507 with a JSON detail that names no
absolute path, leaves no temp file and loses nothing (rows and files as they were, integrity_check ok).
Deleting a take, a sample, an avatar and a profile still works on the full drive (the reserve, space.c).
Needs root (mount); exits 77 when not root or the mount is refused. Usage: test_disk_full.py VOICEBOX_BIN
GOLDEN_DIR"""
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from studio_http import Studio, check, finish, png_rgba, tone, write_wav16  # noqa: E402

BIN, GOLDEN = sys.argv[1], sys.argv[2]
REPO_06 = "Qwen/Qwen3-TTS-12Hz-0.6B-Base"


def fill(path, leave):
    """Grows the filler file until about `leave` bytes of the drive are free (0: nothing at all)."""
    filler = os.path.join(path, "filler")
    with open(filler, "ab", buffering=0) as f:
        for chunk in (1 << 20, 1 << 16, 4096):
            try:
                while os.statvfs(path).f_bavail * os.statvfs(path).f_frsize - chunk >= leave:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
        if leave == 0:
            for _ in range(64):  # to the last page
                try:
                    f.write(b"\0" * 4096)
                except OSError:
                    break


def unfill(path):
    try:
        os.unlink(os.path.join(path, "filler"))
    except FileNotFoundError:
        pass


def state(data):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "voicebox.db"), uri=True)
    rows = {t: db.execute("SELECT * FROM %s ORDER BY 1" % t).fetchall()
            for t in ("profiles", "profile_samples", "generations")}
    db.close()
    files = sorted(os.path.relpath(os.path.join(d, f), data) for d, _, fs in os.walk(data) for f in fs
                   if not f.startswith("voicebox.") and f not in ("filler", ".space-reserve"))
    return rows, files


def integrity(data):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "voicebox.db"), uri=True)
    ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    return ok


def temp_files(data):
    return [os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs if ".tmp" in f]


def refused(st, data, what, do):
    """do() -> (status, json): on the full drive it must be 507, name no path, leave everything as it was."""
    before = state(data)
    status, j = do()
    detail = (j or {}).get("detail", "") if isinstance(j, dict) else ""
    check(status == 507 and detail and data not in detail and " /" not in detail and not detail.startswith("/"),
          "%s on a full drive -> 507 naming no path (%s %s)" % (what, status, j))
    check(state(data) == before, "%s: rows and files as they were" % what)
    check(not temp_files(data), "%s: no temp file left (%s)" % (what, temp_files(data)))


def main():
    if os.geteuid() != 0:
        print("SKIP: mounting a small tmpfs needs root")
        return 77
    tmp = tempfile.mkdtemp(prefix="voicebox-diskfull.")
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    if subprocess.call(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", data], stderr=subprocess.DEVNULL) != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        print("SKIP: mount -t tmpfs is refused here")
        return 77
    mirror = st = None
    try:
        mirror = subprocess.Popen([sys.executable, os.path.join(HERE, "hub_mirror.py"), "--port", "0", "--quiet",
                                   "--map", "%s=%s" % (REPO_06, os.path.join(GOLDEN, "tiny-a"))],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        os.environ.update(HF_ENDPOINT="http://127.0.0.1:%s" % mirror.stdout.readline().strip(),
                          HF_HOME=os.path.join(tmp, "hf"), VOICEBOX_THREADS="2")  # models off the tmpfs
        os.environ.pop("HF_HUB_CACHE", None)
        st = Studio(BIN, data, os.path.join(tmp, "server.log"))
        st.start()
        reserve = os.path.join(data, ".space-reserve")
        check(os.path.isfile(reserve) and os.path.getsize(reserve) == 256 * 1024, "the reserve file is made")

        # what the full drive will hold: a profile with a sample, an avatar and a take; packages to import
        s, p = st.json("POST", "/profiles", {"name": "Full", "language": "en"})
        pid = p["id"]
        wav_path = os.path.join(tmp, "ref.wav")
        write_wav16(wav_path, tone(220, 3.0, 0.3))
        wav = open(wav_path, "rb").read()
        s, smp = st.upload("/profiles/%s/samples" % pid, {"reference_text": "A tone."},
                           {"file": ("ref.wav", wav, "audio/wav")})
        check(s == 200, "a sample is stored (%s)" % s)
        pic = png_rgba(64, 64, lambda x, y: (200, 30, 30, 255))
        s, _ = st.upload("/profiles/%s/avatar" % pid, {}, {"file": ("me.png", pic, "image/png")})
        check(s == 200, "an avatar is stored (%s)" % s)
        text = "A take long enough that its audio cannot fit in what is left of the drive."
        s, take = st.json("POST", "/generate", {"profile_id": pid, "text": text, "language": "en",
                                                "model_size": "0.6B", "seed": 1})
        check(s == 200 and take and take.get("status") == "completed", "a take is stored (%s %s)" % (s, take))
        take_size = os.path.getsize(os.path.join(data, "generations", take["id"] + ".wav"))
        s, _, profile_zip = st.request("GET", "/profiles/%s/export" % pid)
        s2, _, take_zip = st.request("GET", "/history/%s/export" % take["id"])
        check(s == 200 and s2 == 200, "the profile and the take are exported (%s %s)" % (s, s2))
        # a second profile to import the take into once the first is deleted
        zin = zipfile.ZipFile(io.BytesIO(profile_zip))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for n in zin.namelist():
                b = zin.read(n)
                if n == "manifest.json":
                    m = json.loads(b)
                    m["profile"]["name"] = "Imported"
                    b = json.dumps(m).encode()
                z.writestr(n, b)
        profile_zip = buf.getvalue()

        # nearly full: the database has room, the audio (sample 144 KB, take %d KB) does not
        leave = 48 * 1024
        check(take_size > 2 * leave, "the take's audio (%d bytes) is larger than what is left" % take_size)
        fill(data, leave)
        refused(st, data, "a sample upload (audio does not fit)",
                lambda: st.upload("/profiles/%s/samples" % pid, {"reference_text": "Again."},
                                  {"file": ("ref.wav", wav, "audio/wav")}))
        unfill(data)
        fill(data, leave)
        before = state(data)
        s, j = st.json("POST", "/generate", {"profile_id": pid, "text": text, "language": "en",
                                             "model_size": "0.6B", "seed": 2})
        detail = (j or {}).get("detail", "")
        check(s == 507 and detail and data not in detail, "a take whose audio does not fit -> 507 (%s %s)" % (s, j))
        rows, files = state(data)
        failed = [g for g in rows["generations"] if g not in before[0]["generations"]]
        check(files == before[1] and len(failed) <= 1 and all("failed" in g for g in failed),
              "the take is recorded as failed, no file is left (%s)" % failed)
        check(not temp_files(data), "no temp file left by the take")
        unfill(data)
        fill(data, leave)
        refused(st, data, "a take import (audio does not fit)",
                lambda: st.upload("/history/import", {}, {"file": ("t.voicebox.zip", take_zip, "application/zip")}))
        unfill(data)
        fill(data, leave)
        refused(st, data, "a profile import (its sample does not fit)",
                lambda: st.upload("/profiles/import", {}, {"file": ("p.voicebox.zip", profile_zip, "application/zip")}))
        unfill(data)
        big_pic = png_rgba(256, 256, lambda x, y: ((x * 7919 + y * 104729) & 255, (x ^ y) & 255, (x * y) & 255, 255))
        fill(data, 16 * 1024)
        refused(st, data, "an avatar (the picture does not fit)",
                lambda: st.upload("/profiles/%s/avatar" % pid, {}, {"file": ("me.png", big_pic, "image/png")}))
        unfill(data)
        # full to the last page: even the database cannot grow
        fill(data, 0)
        refused(st, data, "an avatar", lambda: st.upload("/profiles/%s/avatar" % pid, {},
                                                         {"file": ("me.png", big_pic, "image/png")}))
        refused(st, data, "a new profile", lambda: st.json("POST", "/profiles", {"name": "No room", "language": "en"}))
        refused(st, data, "a sample upload", lambda: st.upload("/profiles/%s/samples" % pid, {"reference_text": "x"},
                                                               {"file": ("ref.wav", wav, "audio/wav")}))

        # deleting still works on the full drive
        s, _ = st.json("DELETE", "/history/" + take["id"])
        check(s == 200 and not os.path.exists(os.path.join(data, "generations", take["id"] + ".wav")),
              "DELETE /history/{id} on a full drive -> 200, its file gone (%s)" % s)
        fill(data, 0)
        s, _ = st.json("DELETE", "/profiles/samples/" + smp["id"])
        check(s == 200, "DELETE a sample on a full drive -> 200 (%s)" % s)
        fill(data, 0)
        s, _ = st.json("DELETE", "/profiles/%s/avatar" % pid)
        check(s == 200, "DELETE an avatar on a full drive -> 200 (%s)" % s)
        fill(data, 0)
        s, _ = st.json("DELETE", "/profiles/" + pid)
        check(s == 200, "DELETE a profile on a full drive -> 200 (%s)" % s)
        check(integrity(data) == "ok", "integrity_check after all this: %s" % integrity(data))
        rows, files = state(data)
        files = [f for f in files if not f.startswith("cache/")]  # voice prompts belong to no profile
        check(not rows["profiles"] and not rows["profile_samples"] and not files,
              "every row and file of the deleted profile is gone (%s %s)" % (rows, files))
        unfill(data)
        s, _ = st.json("POST", "/profiles", {"name": "Room again", "language": "en"})
        check(s == 200, "with room again a profile is created (%s)" % s)
        st.stop()
        log = open(os.path.join(tmp, "server.log"), errors="replace").read()
        check("released the 256 KiB reserve" in log, "the log says when the reserve is used")
    finally:
        if st and st.proc:
            st.proc.kill()
            st.proc.wait()
        if mirror:
            mirror.kill()
            mirror.wait()
        subprocess.call(["umount", data])
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    sys.exit(main())
