#!/usr/bin/env python3
"""test_packages.py — profile and take packages (.voicebox.zip) against the real `voicebox serve`: our exports
have the Python studio's layout, zips written here exactly as the Python studio writes them (zipfile, deflate,
json.dumps(indent=2)) import, and unsafe or damaged archives are refused with 400 leaving the database and the
data dir as they were. Usage: test_packages.py VOICEBOX_BIN LOADTEST_BIN"""
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import struct
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from studio_http import Studio, check, finish, png_rgba, read_wav16, tone, write_wav16  # noqa: E402

BIN, SEEDER = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="voicebox-packages.")
MISSING = "00000000-0000-4000-8000-000000000000"
data = os.path.join(tmp, "data")


def wav_bytes(freq, seconds, amp=0.3, rate=24000):
    path = os.path.join(tmp, "t.wav")
    write_wav16(path, tone(freq, seconds, amp, rate), rate)
    return open(path, "rb").read()


def python_profile_zip(name, samples, description=None, language="en", extra=None):
    """A profile package exactly as the Python studio's export_profile_to_zip writes one."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        manifest = {"version": "1.0", "profile": {"name": name, "description": description, "language": language},
                    "has_avatar": False}
        z.writestr("manifest.json", json.dumps(manifest, indent=2))
        mapping = {}
        for fname, (text, wav) in samples.items():
            z.writestr("samples/" + fname, wav)
            mapping[fname] = text
        z.writestr("samples.json", json.dumps(mapping, indent=2))
        for n, b in (extra or {}).items():
            z.writestr(n, b)
    return buf.getvalue()


def python_take_zip(profile_name, text="An imported line.", language="en", wav=None, audio_name=None):
    """A take package as the Python studio's export_generation_to_zip writes one."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        manifest = {"version": "1.0",
                    "generation": {"id": "9b1f0a52-3c1e-4a47-9a57-0c2b8e0f6d11", "text": text, "language": language,
                                   "duration": 1.5, "seed": 42, "instruct": None,
                                   "created_at": "2026-01-02T03:04:05.678901"},
                    "profile": {"id": "5d7f2e4a-1b2c-4d3e-8f90-a1b2c3d4e5f6", "name": profile_name,
                                "description": None, "language": "en"}}
        z.writestr("manifest.json", json.dumps(manifest, indent=2))
        if wav is not None:
            z.writestr(audio_name or "audio/9b1f0a52-3c1e-4a47-9a57-0c2b8e0f6d11.wav", wav)
    return buf.getvalue()


def state():
    """What an import must leave as it was: every row of the studio's tables and every file of the data dir."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "voicebox.db"), uri=True)
    rows = {t: db.execute("SELECT * FROM %s ORDER BY 1" % t).fetchall()
            for t in ("profiles", "profile_samples", "generations")}
    db.close()
    files = sorted(os.path.relpath(os.path.join(d, f), data) for d, _, fs in os.walk(data) for f in fs
                   if not f.startswith("voicebox."))
    dirs = sorted(os.path.relpath(d, data) for d, _, _ in os.walk(data))
    return rows, files, dirs


def refused(st, path, zbytes, what, code=400, needle=None):
    before = state()
    s, j = st.upload(path, {}, {"file": ("x.voicebox.zip", zbytes, "application/zip")})
    ok = s == code and (needle is None or needle in (j or {}).get("detail", ""))
    check(ok, "%s -> %d%s (%s %s)" % (what, code, " naming '%s'" % needle if needle else "", s, j))
    check(state() == before, "%s: the database and the data dir are as they were" % what)


st = Studio(BIN, data, os.path.join(tmp, "server.log"))
try:
    seeded = subprocess.run([SEEDER, "seed", data, "2"], capture_output=True, text=True)
    check(seeded.returncode == 0, "seeding two takes")
    st.start()

    # ---- export a profile ----
    s, ada = st.json("POST", "/profiles", {"name": "Ada Lovelace", "description": "first", "language": "en"})
    s, smp = st.upload("/profiles/%s/samples" % ada["id"], {"reference_text": "The first sample."},
                       {"file": ("a.wav", wav_bytes(220, 3.0), "audio/wav")})
    check(s == 200, "a sample for the profile to export")
    status, headers, raw = st.request("GET", "/profiles/%s/export" % ada["id"])
    check(status == 200 and headers.get("Content-Type") == "application/zip", "GET /profiles/{id}/export is a zip")
    check(headers.get("Content-Disposition") == 'attachment; filename="profile-Ada Lovelace.voicebox.zip"',
          "the download is named profile-<name>.voicebox.zip (%s)" % headers.get("Content-Disposition"))
    z = zipfile.ZipFile(io.BytesIO(raw))
    names = sorted(z.namelist())
    sid = smp["id"]
    check(names == ["manifest.json", "samples.json", "samples/%s.wav" % sid], "the Python studio's layout (%s)" % names)
    manifest = json.loads(z.read("manifest.json"))
    check(manifest == {"version": "1.0", "profile": {"name": "Ada Lovelace", "description": "first", "language": "en"},
                       "has_avatar": False}, "manifest.json (%s)" % manifest)
    check(json.loads(z.read("samples.json")) == {sid + ".wav": "The first sample."}, "samples.json maps file to text")
    stored = os.path.join(data, "profiles", ada["id"], sid + ".wav")
    check(z.read("samples/%s.wav" % sid) == open(stored, "rb").read(), "the sample travels byte for byte")
    check(z.testzip() is None, "Python's zipfile reads every entry with a good CRC")
    for path in ["/profiles/%s/export" % MISSING, "/profiles/nope/export"]:
        s, _, _ = st.request("GET", path)
        check(s == 404, "GET %s -> 404" % path)

    # ---- avatars over HTTP (the pictures themselves: test_avatar.c) ----
    pic = png_rgba(600, 300, lambda x, y: (200, 30, 30, 255) if x < 300 else (0, 0, 0, 0))
    s, j = st.upload("/profiles/%s/avatar" % ada["id"], {}, {"file": ("me.png", pic, "image/png")})
    check(s == 200 and j["avatar_path"], "POST /profiles/{id}/avatar (%s %s)" % (s, j))
    s, h, av = st.request("GET", "/profiles/%s/avatar" % ada["id"])
    check(s == 200 and h.get("Content-Type") == "image/png" and av[:8] == b"\x89PNG\r\n\x1a\n"
          and struct.unpack(">II", av[16:24]) == (512, 256), "GET the avatar: a 512 x 256 PNG")
    s, j = st.upload("/profiles/%s/avatar" % ada["id"], {}, {"file": ("x.gif", b"GIF89a" + b"\0" * 40, "image/gif")})
    check(s == 415, "a GIF avatar -> 415 (%s)" % s)
    s, j = st.upload("/profiles/%s/avatar" % ada["id"], {}, {"file": ("x.png", pic[:200], "image/png")})
    check(s == 400, "a damaged PNG avatar -> 400 (%s)" % s)
    s, j = st.upload("/profiles/%s/avatar" % ada["id"], {}, {"file": ("x.png", pic + b"\0" * (5 << 20), "image/png")})
    check(s == 413, "an avatar over 5 MB -> 413 (%s)" % s)
    s, j = st.upload("/profiles/%s/avatar" % MISSING, {}, {"file": ("me.png", pic, "image/png")})
    check(s == 404, "an avatar for an unknown profile -> 404")
    s, j = st.upload("/profiles/%s/avatar" % ada["id"], {"x": "y"}, {})
    check(s == 422, "an avatar upload without a file -> 422")
    status, headers, raw = st.request("GET", "/profiles/%s/export" % ada["id"])
    z = zipfile.ZipFile(io.BytesIO(raw))
    check(sorted(z.namelist()) == ["avatar.png", "manifest.json", "samples.json", "samples/%s.wav" % sid]
          and json.loads(z.read("manifest.json"))["has_avatar"] is True and z.read("avatar.png") == av,
          "the export carries the avatar (%s)" % z.namelist())

    # ---- import it back: a taken name gets (1), (2) ----
    s, p1 = st.upload("/profiles/import", {}, {"file": ("profile-Ada.voicebox.zip", raw, "application/zip")})
    check(s == 200 and p1["name"] == "Ada Lovelace (1)" and p1["description"] == "first", "import -> 'Ada Lovelace (1)' (%s)" % p1)
    s, p2 = st.upload("/profiles/import", {}, {"file": ("profile-Ada.voicebox.zip", raw, "application/zip")})
    check(s == 200 and p2["name"] == "Ada Lovelace (2)", "again -> 'Ada Lovelace (2)'")
    s, _, av1 = st.request("GET", "/profiles/%s/avatar" % p1["id"])
    check(s == 200 and av1 == av and p1["avatar_path"], "the import carries the avatar")
    s, samples = st.json("GET", "/profiles/%s/samples" % p1["id"])
    check(s == 200 and len(samples) == 1 and samples[0]["reference_text"] == "The first sample."
          and abs(samples[0]["duration"] - smp["duration"]) < 0.01, "the imported profile has the sample and its text")

    # ---- a zip written as the Python studio writes it ----
    pyzip = python_profile_zip("Bjørn", {"0f0e.wav": ("Hej med dig.", wav_bytes(330, 2.5, 0.3, 44100)),
                                         "1a2b.wav": ("Anden prøve.", wav_bytes(440, 3.5, 0.2, 16000))},
                               description=None, language="de")
    s, bj = st.upload("/profiles/import", {}, {"file": ("profile-Bjørn.voicebox.zip", pyzip, "application/zip")})
    check(s == 200 and bj["name"] == "Bjørn" and bj["language"] == "de" and bj["description"] is None,
          "a Python-studio profile package imports (%s %s)" % (s, bj))
    s, samples = st.json("GET", "/profiles/%s/samples" % bj["id"])
    check(sorted(x["reference_text"] for x in samples) == ["Anden prøve.", "Hej med dig."], "with both samples")
    status, headers, raw_bj = st.request("GET", "/profiles/%s/export" % bj["id"])
    cd = headers.get("Content-Disposition", "")
    check(cd == "attachment; filename=\"profile-Bj_rn.voicebox.zip\"; filename*=UTF-8''profile-Bj%C3%B8rn.voicebox.zip",
          "a non-ASCII name goes out as RFC 5987 filename* (%s)" % cd)

    # ---- bad archives: 400, nothing left behind ----
    imp = "/profiles/import"
    refused(st, imp, b"this is not a zip file", "not a zip", needle="ZIP")
    refused(st, imp, raw[: len(raw) // 2], "a truncated zip")
    refused(st, imp, python_profile_zip("X", {})[:-1] + b"", "a zip with a damaged end")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zz:
        zz.writestr("samples.json", "{}")
    refused(st, imp, buf.getvalue(), "no manifest.json", needle="manifest.json")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zz:
        zz.writestr("manifest.json", json.dumps({"version": "1.0", "profile": {"name": "Y"}}))
    refused(st, imp, buf.getvalue(), "no samples.json", needle="samples.json")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zz:
        zz.writestr("manifest.json", "{not json")
        zz.writestr("samples.json", "{}")
    refused(st, imp, buf.getvalue(), "a manifest that is not JSON", needle="manifest.json")
    good = wav_bytes(300, 2.5)
    refused(st, imp, python_profile_zip("Trav", {"../evil.wav": ("x", good)}), "a sample named ../evil.wav")
    refused(st, imp, python_profile_zip("Trav", {"a.wav": ("x", good)}, extra={"../../outside.txt": b"x"}),
            "an entry ../../outside.txt", needle="unsafe")
    refused(st, imp, python_profile_zip("Abs", {"a.wav": ("x", good)}, extra={"/etc/passwd": b"x"}),
            "an absolute entry /etc/passwd", needle="unsafe")
    refused(st, imp, python_profile_zip("Win", {"a.wav": ("x", good)}, extra={"C:\\evil.txt": b"x"}),
            "a drive-letter entry", needle="unsafe")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zz:
        zz.writestr("manifest.json", json.dumps({"version": "1.0", "profile": {"name": "Link"}, "has_avatar": False}))
        zz.writestr("samples.json", json.dumps({"a.wav": "x"}))
        info = zipfile.ZipInfo("samples/a.wav")
        info.create_system = 3  # unix
        info.external_attr = (0o120777 << 16)
        zz.writestr(info, "/etc/passwd")
    refused(st, imp, buf.getvalue(), "a sample that is a symlink", needle="symbolic link")
    refused(st, imp, python_profile_zip("Bomb", {"a.wav": ("x", b"\0" * (40 * 1024 * 1024))}),
            "a zip bomb (40 MB of zeros in ~40 KB)", needle="zip bomb")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zz:
        zz.writestr("manifest.json", json.dumps({"version": "1.0", "profile": {"name": "Big"}, "has_avatar": False}))
        zz.writestr("samples.json", json.dumps({"a.wav": "x"}))
        zz.writestr("samples/a.wav", os.urandom(51 * 1024 * 1024))
    refused(st, imp, buf.getvalue(), "an oversized entry (51 MB stored)", needle="limit")
    refused(st, imp, python_profile_zip("Gone", {"a.wav": ("x", good)})
            .replace(b"samples/a.wav", b"samples/b.wav"), "samples.json naming a file the zip lacks")
    # the second sample fails an upload's checks: the first was already added, and must go again
    refused(st, imp, python_profile_zip("Half", {"a.wav": ("fine", good), "b.wav": ("too short", wav_bytes(300, 1.0))}),
            "a profile whose second sample is too short", needle="b.wav")
    refused(st, imp, python_profile_zip("Noise", {"a.wav": ("x", b"RIFF not really a wave file")}),
            "a sample that is not audio")
    refused(st, imp, python_profile_zip("Pic", {"a.wav": ("x", good)}, extra={"avatar.png": b"\x89PNG\r\n\x1a\n broken"}),
            "a package whose avatar is damaged", needle="avatar.png")
    refused(st, imp, python_profile_zip("Lang", {"a.wav": ("x", good)}, language="xx"), "an unknown language",
            needle="language")
    s, j = st.upload(imp, {"other": "x"}, {})
    check(s == 422, "an import without a file part -> 422 (%s)" % s)

    s, j = st.json("DELETE", "/profiles/%s/avatar" % ada["id"])
    check(s == 200, "DELETE the avatar")
    s, _, _ = st.request("GET", "/profiles/%s/avatar" % ada["id"])
    check(s == 404, "then GET it -> 404")
    s, j = st.json("DELETE", "/profiles/%s/avatar" % ada["id"])
    check(s == 404, "DELETE it again -> 404")
    s, j = st.json("GET", "/profiles/" + ada["id"])
    check(j["avatar_path"] is None, "avatar_path is null again")

    # ---- takes ----
    s, hist = st.json("GET", "/history")
    take = hist["items"][0]
    status, headers, raw_t = st.request("GET", "/history/%s/export" % take["id"])
    check(status == 200 and headers.get("Content-Type") == "application/zip", "GET /history/{id}/export is a zip")
    check(headers.get("Content-Disposition") == 'attachment; filename="generation-%s.voicebox.zip"' % take["text"],
          "named generation-<text>.voicebox.zip (%s)" % headers.get("Content-Disposition"))
    zt = zipfile.ZipFile(io.BytesIO(raw_t))
    check(sorted(zt.namelist()) == ["audio/%s.wav" % take["id"], "manifest.json"], "take layout (%s)" % zt.namelist())
    mt = json.loads(zt.read("manifest.json"))
    check(mt["version"] == "1.0" and mt["generation"]["text"] == take["text"] and mt["generation"]["seed"] == take["seed"]
          and mt["generation"]["id"] == take["id"] and mt["profile"]["name"] == "history seed"
          and set(mt["generation"]) == {"id", "text", "language", "duration", "seed", "instruct", "created_at"}
          and set(mt["profile"]) == {"id", "name", "description", "language"}, "take manifest (%s)" % mt)
    for path in ["/history/%s/export" % MISSING, "/history/x/export"]:
        s, _, _ = st.request("GET", path)
        check(s == 404, "GET %s -> 404" % path)
    s, g = st.upload("/history/import", {}, {"file": ("t.voicebox.zip", raw_t, "application/zip")})
    check(s == 200 and g["text"] == take["text"] and g["profile_name"] == "history seed" and g["id"] != take["id"]
          and "message" in g and g["seed"] == take["seed"], "a take round-trips (%s)" % g)
    s, _, audio = st.request("GET", "/audio/" + g["id"])
    s0, _, audio0 = st.request("GET", "/audio/" + take["id"])
    check(read_wav16(audio)[1] == read_wav16(audio0)[1], "with the same samples")
    pyt = python_take_zip("Ada Lovelace", text="Hello from Python.", wav=wav_bytes(500, 1.5))
    s, g2 = st.upload("/history/import", {}, {"file": ("g.voicebox.zip", pyt, "application/zip")})
    check(s == 200 and g2["profile_id"] == ada["id"] and g2["text"] == "Hello from Python." and abs(g2["duration"] - 1.5) < 0.01
          and g2["seed"] == 42, "a Python-studio take package imports to the profile of that name (%s)" % g2)
    imp = "/history/import"
    refused(st, imp, python_take_zip("Nobody Here", wav=wav_bytes(500, 1.0)), "a take of an unknown profile",
            needle="Nobody Here")
    refused(st, imp, python_take_zip("Ada Lovelace"), "a take without audio", needle="audio")
    refused(st, imp, python_take_zip("Ada Lovelace", language="xx", wav=wav_bytes(500, 1.0)), "a take in an unknown language")
    refused(st, imp, python_take_zip("Ada Lovelace", wav=b"not audio at all"), "a take whose audio is not audio")
    refused(st, imp, python_take_zip("Ada Lovelace", wav=wav_bytes(500, 1.0), audio_name="audio/../../x.wav"),
            "a take with a traversing audio name", needle="unsafe")
    refused(st, imp, b"PK\x03\x04 nonsense", "a take that is not a zip")
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "voicebox.db"), uri=True)
    left = db.execute("SELECT path FROM file_intents").fetchall()
    db.close()
    check(left == [], "no file intent is left once the imports, avatars and refusals are done (%s)" % left)
    st.stop()
finally:
    if st.proc:
        st.proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)
finish()
