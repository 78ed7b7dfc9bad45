#!/usr/bin/env python3
"""test_stories.py — stories end to end against the real `voicebox serve`: every /stories route with good and
bad input, the export-audio mix compared sample by sample with a mix computed here, items removed with their
take or profile, and a database written by the first release (schema 1) upgraded with nothing lost.
Usage: test_stories.py VOICEBOX_BIN LOADTEST_BIN"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from studio_http import Studio, check, finish, read_wav16, tone, write_wav16  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BIN, SEEDER = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="voicebox-stories.")
MISSING = "00000000-0000-4000-8000-000000000000"


def expected_mix(items, audio):
    """The mix as the studio defines it, from the takes' 16-bit samples: each item trimmed and summed at its
    start (24 samples per ms), length = the last visible end, divided by the peak only above 1."""
    end_ms = max(it["start_time_ms"] + int(it["duration"] * 1000) - it["trim_start_ms"] - it["trim_end_ms"]
                 for it in items)
    total = end_ms * 24
    mix = [0.0] * total
    for it in items:
        s = audio[it["generation_id"]]
        a, b = it["trim_start_ms"] * 24, len(s) - it["trim_end_ms"] * 24
        at = it["start_time_ms"] * 24
        for i in range(a, b):
            if at + i - a >= total:
                break
            mix[at + i - a] += s[i] / 32768.0
    peak = max(abs(x) for x in mix)
    if peak > 1:
        mix = [x / peak for x in mix]
    return [int(round(x * 32767)) for x in mix]


def check_mix(st, sid, what):
    status, headers, raw = st.request("GET", "/stories/%s/export-audio" % sid)
    if not check(status == 200 and headers.get("Content-Type") == "audio/wav", what + ": export-audio 200 WAV"):
        return
    rate, got = read_wav16(raw)
    _, story = st.json("GET", "/stories/" + sid)
    want = expected_mix(story["items"], audio)
    worst = max((abs(g - w) for g, w in zip(got, want)), default=0)
    print("  %s: %d samples, worst difference %d LSB" % (what, len(got), worst))
    check(rate == 24000 and len(got) == len(want) and worst <= 1,
          "%s: the mix matches sample by sample (%d vs %d samples, worst %d LSB)" % (what, len(got), len(want), worst))
    return got


try:
    # ---- takes: three 0.5 s takes seeded through the studio, given distinct tones ----
    data = os.path.join(tmp, "data")
    seeded = subprocess.run([SEEDER, "seed", data, "4"], capture_output=True, text=True)
    check(seeded.returncode == 0, "seeding takes: " + seeded.stderr[-200:])
    db = sqlite3.connect(os.path.join(data, "voicebox.db"))
    rows = db.execute("SELECT id, audio_path FROM generations ORDER BY text").fetchall()
    db.close()
    for k, (gid, rel) in enumerate(rows):
        write_wav16(os.path.join(data, rel), tone(300 + 170 * k, 0.5, 0.25 + 0.1 * k))
    gens = [r[0] for r in rows]
    audio = {gid: read_wav16(os.path.join(data, rel))[1] for gid, rel in rows}

    st = Studio(BIN, data, os.path.join(tmp, "server.log"))
    st.start()

    # ---- story CRUD ----
    s, story = st.json("POST", "/stories", {"name": "Chapter Ünø", "description": "two voices"})
    check(s == 200 and story["name"] == "Chapter Ünø" and story["item_count"] == 0, "POST /stories creates")
    sid = story["id"]
    for bad, why in [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
                     ({"name": "a", "description": "d" * 501}, "description"), ({"name": 5}, "name"), ([], "body")]:
        s, j = st.json("POST", "/stories", bad)
        check(s == 422 and why in j["detail"], "POST /stories %s -> 422 naming %s (%s %s)" % (str(bad)[:30], why, s, j))
    s, _ = st.json("POST", "/stories", "{not json")
    check(s == 400, "POST /stories with bad JSON -> 400")
    s, lst = st.json("GET", "/stories")
    check(s == 200 and [x["id"] for x in lst] == [sid] and lst[0]["item_count"] == 0, "GET /stories lists it")
    s, j = st.json("PUT", "/stories/" + sid, {"name": "Chapter One", "description": None})
    check(s == 200 and j["name"] == "Chapter One" and j["description"] is None, "PUT /stories/{id} renames")
    s, _ = st.json("PUT", "/stories/" + MISSING, {"name": "x"})
    check(s == 404, "PUT unknown story -> 404")
    s, _ = st.json("PUT", "/stories/" + sid, {"name": ""})
    check(s == 422, "PUT with an empty name -> 422")
    for path in ["/stories/" + MISSING, "/stories/not-a-uuid"]:
        s, _ = st.json("GET", path)
        check(s == 404, "GET %s -> 404" % path)
    s, _ = st.json("DELETE", "/stories/" + MISSING)
    check(s == 404, "DELETE unknown story -> 404")
    s, j = st.json("GET", "/stories/%s/export-audio" % sid)
    check(s == 400 and "no items" in j["detail"], "export-audio of an empty story -> 400 (%s %s)" % (s, j))
    s, _ = st.json("GET", "/stories/%s/export-audio" % MISSING)
    check(s == 404, "export-audio of an unknown story -> 404")

    # ---- items ----
    s, a = st.json("POST", "/stories/%s/items" % sid, {"generation_id": gens[0]})
    check(s == 200 and a["start_time_ms"] == 0 and a["track"] == 0 and a["profile_name"] == "history seed"
          and a["text"] == "seeded line 0" and a["duration"] == 0.5 and a["generation_id"] == gens[0]
          and "seed" in a and "language" in a and a["trim_start_ms"] == 0, "the first item starts at 0 with the take's fields")
    s, b = st.json("POST", "/stories/%s/items" % sid, {"generation_id": gens[1], "track": 1})
    check(s == 200 and b["start_time_ms"] == 700 and b["track"] == 1, "no start: after the latest end + 200 ms (%s)" % b.get("start_time_ms"))
    s, again = st.json("POST", "/stories/%s/items" % sid, {"generation_id": gens[0], "start_time_ms": 5000})
    check(s == 200 and again["id"] == a["id"] and again["start_time_ms"] == 0, "a take already in the story returns its item")
    s, c = st.json("POST", "/stories/%s/items" % sid, {"generation_id": gens[2], "start_time_ms": 250, "track": 2})
    check(s == 200 and c["start_time_ms"] == 250 and c["track"] == 2, "an explicit start and track")
    for bad, code, why in [({}, 422, "generation_id"), ({"generation_id": MISSING}, 404, "not found"),
                           ({"generation_id": gens[3], "start_time_ms": -1}, 422, "start_time_ms"),
                           ({"generation_id": gens[3], "start_time_ms": 1.5}, 422, "start_time_ms"),
                           ({"generation_id": gens[3], "track": -1}, 422, "track"),
                           ({"generation_id": gens[3], "track": "x"}, 422, "track")]:
        s, j = st.json("POST", "/stories/%s/items" % sid, bad)
        check(s == code and why in j["detail"], "POST items %s -> %d (%s %s)" % (bad, code, s, j))
    s, _ = st.json("POST", "/stories/%s/items" % MISSING, {"generation_id": gens[0]})
    check(s == 404, "POST items to an unknown story -> 404")
    s, lst = st.json("GET", "/stories")
    check(lst[0]["item_count"] == 3, "item_count counts the items")
    check_mix(st, sid, "three takes on three tracks")

    # move, trim, split, duplicate
    s, m = st.json("PUT", "/stories/%s/items/%s/move" % (sid, c["id"]), {"start_time_ms": 100, "track": 1})
    check(s == 200 and m["start_time_ms"] == 100 and m["track"] == 1, "move changes start and track")
    for bad in [{}, {"start_time_ms": -5}, {"start_time_ms": 10, "track": -1}, {"start_time_ms": "10"}]:
        s, _ = st.json("PUT", "/stories/%s/items/%s/move" % (sid, c["id"]), bad)
        check(s == 422, "move %s -> 422 (%s)" % (bad, s))
    s, _ = st.json("PUT", "/stories/%s/items/%s/move" % (sid, MISSING), {"start_time_ms": 1})
    check(s == 404, "move an unknown item -> 404")
    s, t = st.json("PUT", "/stories/%s/items/%s/trim" % (sid, b["id"]), {"trim_start_ms": 50, "trim_end_ms": 120})
    check(s == 200 and t["trim_start_ms"] == 50 and t["trim_end_ms"] == 120, "trim sets both ends")
    s, j = st.json("PUT", "/stories/%s/items/%s/trim" % (sid, b["id"]), {"trim_start_ms": 300, "trim_end_ms": 200})
    check(s == 422 and "leave nothing" in j["detail"], "a trim that leaves nothing -> 422 (%s %s)" % (s, j))
    s, _ = st.json("PUT", "/stories/%s/items/%s/trim" % (sid, b["id"]), {"trim_start_ms": -1, "trim_end_ms": 0})
    check(s == 422, "a negative trim -> 422")
    s, _ = st.json("PUT", "/stories/%s/items/%s/trim" % (sid, b["id"]), {"trim_start_ms": 0})
    check(s == 422, "a trim without trim_end_ms -> 422")
    check_mix(st, sid, "after move and trim")

    s, parts = st.json("POST", "/stories/%s/items/%s/split" % (sid, b["id"]), {"split_time_ms": 100})
    ok = s == 200 and len(parts) == 2
    check(ok and parts[0]["id"] == b["id"] and parts[0]["trim_start_ms"] == 50 and parts[0]["trim_end_ms"] == 350
          and parts[1]["start_time_ms"] == 800 and parts[1]["trim_start_ms"] == 150 and parts[1]["trim_end_ms"] == 120
          and parts[1]["track"] == 1 and parts[1]["generation_id"] == gens[1],
          "split at 100 ms of the visible clip: [original, new] with the right trims (%s)" % parts)
    for bad in [{"split_time_ms": 0}, {"split_time_ms": 100}, {"split_time_ms": 5000}, {}]:
        target = parts[0]["id"] if ok else b["id"]
        s, _ = st.json("POST", "/stories/%s/items/%s/split" % (sid, target), bad)
        check(s == 422, "split %s outside the 100 ms visible clip -> 422 (%s)" % (bad, s))
    s, d = st.json("POST", "/stories/%s/items/%s/duplicate" % (sid, a["id"]))
    check(s == 200 and d["id"] != a["id"] and d["start_time_ms"] == 700 and d["track"] == 0
          and d["generation_id"] == gens[0], "duplicate goes after the original + 200 ms on its track (%s)" % d)
    s, _ = st.json("POST", "/stories/%s/items/%s/duplicate" % (sid, MISSING))
    check(s == 404, "duplicate an unknown item -> 404")
    check_mix(st, sid, "after split and duplicate")

    # times and reorder work by take
    s, j = st.json("PUT", "/stories/%s/items/times" % sid, {"updates": [{"generation_id": gens[2], "start_time_ms": 40}]})
    check(s == 200, "times moves a take's items")
    s, story = st.json("GET", "/stories/" + sid)
    check([i["start_time_ms"] for i in story["items"] if i["generation_id"] == gens[2]] == [40], "times applied")
    for bad in [{"updates": [{"generation_id": gens[3], "start_time_ms": 1}]}, {"updates": "x"},
                {"updates": [{"generation_id": gens[2], "start_time_ms": -1}]}, {}]:
        s, _ = st.json("PUT", "/stories/%s/items/times" % sid, bad)
        check(s == 422, "times %s -> 422 (%s)" % (str(bad)[:60], s))
    s, story_before = st.json("GET", "/stories/" + sid)
    check([i["start_time_ms"] for i in story_before["items"] if i["generation_id"] == gens[2]] == [40],
          "a refused times request changes nothing")
    s, j = st.json("PUT", "/stories/%s/items/reorder" % sid, {"generation_ids": [gens[2], gens[0]]})
    check(s == 422, "reorder missing a take -> 422")
    s, j = st.json("PUT", "/stories/%s/items/reorder" % sid, {"generation_ids": [gens[2], gens[0], gens[1], gens[3]]})
    check(s == 422, "reorder with a take not in the story -> 422")
    s, j = st.json("PUT", "/stories/%s/items/reorder" % sid, {"generation_ids": [gens[2], gens[0], gens[0]]})
    check(s == 422, "reorder naming a take twice -> 422")
    s, j = st.json("PUT", "/stories/%s/items/reorder" % sid, {"generation_ids": [gens[2], gens[1], gens[0]]})
    starts = {}
    for i in j or []:
        starts.setdefault(i["generation_id"], set()).add(i["start_time_ms"])
    check(s == 200 and starts == {gens[2]: {0}, gens[1]: {700}, gens[0]: {1400}},
          "reorder lays the takes out 200 ms apart (%s)" % starts)
    s, _ = st.json("PUT", "/stories/%s/items/reorder" % MISSING, {"generation_ids": [gens[0]]})
    check(s == 404, "reorder an unknown story -> 404")

    # a mix loud enough to be scaled: four copies of the loudest take at once on four tracks
    s, loud = st.json("POST", "/stories", {"name": "loud"})
    lid = loud["id"]
    s, x = st.json("POST", "/stories/%s/items" % lid, {"generation_id": gens[3], "start_time_ms": 30})
    for track in range(1, 4):
        s, dup = st.json("POST", "/stories/%s/items/%s/duplicate" % (lid, x["id"]))
        st.json("PUT", "/stories/%s/items/%s/move" % (lid, dup["id"]), {"start_time_ms": 30, "track": track})
    got = check_mix(st, lid, "four copies at once (peak 2.2, scaled)")
    check(got is not None and max(abs(v) for v in got) >= 32766, "a scaled mix peaks at full scale")

    # item delete
    s, _ = st.json("DELETE", "/stories/%s/items/%s" % (sid, d["id"]))
    check(s == 200, "DELETE an item")
    s, _ = st.json("DELETE", "/stories/%s/items/%s" % (sid, d["id"]))
    check(s == 404, "DELETE it again -> 404")
    s, _ = st.json("DELETE", "/stories/%s/items/%s" % (lid, a["id"]))
    check(s == 404, "DELETE an item through another story -> 404")

    # cascades: a deleted take leaves its stories; a deleted profile takes all its items
    s, _ = st.json("DELETE", "/history/" + gens[1])
    s, story = st.json("GET", "/stories/" + sid)
    check(s == 200 and all(i["generation_id"] != gens[1] for i in story["items"]) and len(story["items"]) == 2,
          "deleting a take removes its items (%d left)" % len(story["items"]))
    s, story = st.json("GET", "/stories/" + sid)
    pid = story["items"][0]["profile_id"]
    s, _ = st.json("DELETE", "/profiles/" + pid)
    s, story = st.json("GET", "/stories/" + sid)
    check(s == 200 and story["items"] == [], "deleting a profile removes its items; the story stays")
    s, _ = st.json("DELETE", "/stories/" + sid)
    check(s == 200, "DELETE a story")
    s, _ = st.json("GET", "/stories/" + sid)
    check(s == 404, "a deleted story is gone")
    st.stop()

    # ---- a database written by the first release (schema 1) upgrades with nothing lost ----
    old = os.path.join(tmp, "old")
    os.makedirs(old)
    shutil.copy(os.path.join(HERE, "data", "studio_schema1.db"), os.path.join(old, "voicebox.db"))
    db = sqlite3.connect(os.path.join(old, "voicebox.db"))
    check(db.execute("PRAGMA user_version").fetchone()[0] == 1, "the committed database is at schema 1")
    before = {t: db.execute("SELECT * FROM %s ORDER BY id" % t).fetchall()
              for t in ("profiles", "profile_samples", "generations")}
    # later schemas may add columns; the schema-1 ones must keep their values
    columns = {t: [r[1] for r in db.execute("PRAGMA table_info(%s)" % t)] for t in before}
    for (rel,) in db.execute("SELECT audio_path FROM profile_samples UNION SELECT audio_path FROM generations"):
        os.makedirs(os.path.dirname(os.path.join(old, rel)), exist_ok=True)
        write_wav16(os.path.join(old, rel), tone(440, 2.5, 0.3))
    db.close()
    st2 = Studio(BIN, old, os.path.join(tmp, "server2.log"))
    st2.start()
    s, profiles = st2.json("GET", "/profiles")
    check(s == 200 and sorted(p["name"] for p in profiles) == ["Ada Ünicode", "history seed"], "old profiles listed")
    s, hist = st2.json("GET", "/history")
    check(s == 200 and hist["total"] == 3, "old takes listed")
    ada = [p for p in profiles if p["name"] == "Ada Ünicode"][0]
    s, samples = st2.json("GET", "/profiles/%s/samples" % ada["id"])
    check(s == 200 and len(samples) == 1 and samples[0]["reference_text"] == "Hallo Welt.", "old sample listed")
    s, ns = st2.json("POST", "/stories", {"name": "on an upgraded db"})
    s, it = st2.json("POST", "/stories/%s/items" % ns["id"], {"generation_id": hist["items"][0]["id"]})
    check(s == 200 and it["text"].startswith("seeded line"), "stories work on the upgraded database")
    st2.stop()
    db = sqlite3.connect(os.path.join(old, "voicebox.db"))
    after = {t: db.execute("SELECT %s FROM %s ORDER BY id" % (", ".join(columns[t]), t)).fetchall() for t in before}
    check(after == before, "every schema-1 row is unchanged after the upgrade")
    check(db.execute("PRAGMA user_version").fetchone()[0] >= 2, "the schema version moved on")
    db.close()
finally:
    for proc_owner in [v for k, v in list(globals().items()) if k in ("st", "st2")]:
        if proc_owner.proc:
            proc_owner.proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)
finish()
