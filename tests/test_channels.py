#!/usr/bin/env python3
"""test_channels.py — /channels CRUD, /channels/{id}/voices and /profiles/{id}/channels against the real
`voicebox serve`, with good and bad input, as the Python studio stores them (the Default channel that cannot be
changed, device ids, assignments that go with their profile or channel). Usage: test_channels.py VOICEBOX_BIN"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from studio_http import Studio, check, finish  # noqa: E402

BIN = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="voicebox-channels.")
MISSING = "00000000-0000-4000-8000-000000000000"
st = Studio(BIN, os.path.join(tmp, "data"), os.path.join(tmp, "server.log"))
try:
    st.start()
    s, lst = st.json("GET", "/channels")
    check(s == 200 and len(lst) == 1 and lst[0]["name"] == "Default" and lst[0]["is_default"] is True
          and lst[0]["device_ids"] == [] and "created_at" in lst[0], "a new studio has the Default channel (%s)" % lst)
    default = lst[0]["id"]
    s, j = st.json("PUT", "/channels/" + default, {"name": "Mine"})
    check(s == 400 and "default" in j["detail"], "the Default channel cannot be changed (%s)" % s)
    s, j = st.json("DELETE", "/channels/" + default)
    check(s == 400 and "default" in j["detail"], "the Default channel cannot be deleted (%s)" % s)

    s, c = st.json("POST", "/channels", {"name": "Speakers", "device_ids": ["hw:0,0", "BuiltIn Ünï"]})
    check(s == 200 and c["name"] == "Speakers" and c["device_ids"] == ["hw:0,0", "BuiltIn Ünï"]
          and c["is_default"] is False, "POST /channels with devices")
    cid = c["id"]
    s, j = st.json("POST", "/channels", {"name": "Speakers"})
    check(s == 400 and "already exists" in j["detail"], "a taken channel name -> 400")
    for bad, field in [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
                       ({"name": "a", "device_ids": "hw"}, "device_ids"), ({"name": "a", "device_ids": [1]}, "device_ids"),
                       ({"name": "a", "device_ids": [""]}, "device_ids"), ({"name": "a", "device_ids": ["d"] * 65}, "device_ids")]:
        s, j = st.json("POST", "/channels", bad)
        check(s == 422 and field in j["detail"], "POST /channels %s -> 422 naming %s (%s)" % (str(bad)[:40], field, s))
    s, _ = st.json("POST", "/channels", "[")
    check(s == 400, "bad JSON -> 400")
    s, j = st.json("GET", "/channels/" + cid)
    check(s == 200 and j == c, "GET /channels/{id}")
    for path in ["/channels/" + MISSING, "/channels/nope"]:
        s, _ = st.json("GET", path)
        check(s == 404, "GET %s -> 404" % path)
    s, j = st.json("PUT", "/channels/" + cid, {"device_ids": ["hw:1,0"]})
    check(s == 200 and j["name"] == "Speakers" and j["device_ids"] == ["hw:1,0"], "PUT replaces the devices only")
    s, j = st.json("PUT", "/channels/" + cid, {"name": "Headphones"})
    check(s == 200 and j["name"] == "Headphones" and j["device_ids"] == ["hw:1,0"], "PUT renames, devices kept")
    s, _ = st.json("PUT", "/channels/" + cid, {"name": "Default"})
    check(s == 400, "renaming onto a taken name -> 400")
    s, _ = st.json("PUT", "/channels/" + MISSING, {"name": "x"})
    check(s == 404, "PUT an unknown channel -> 404")

    s, p1 = st.json("POST", "/profiles", {"name": "Ada"})
    s, p2 = st.json("POST", "/profiles", {"name": "Bob"})
    s, j = st.json("PUT", "/channels/%s/voices" % cid, {"profile_ids": [p1["id"], p2["id"]]})
    check(s == 200 and "message" in j, "PUT /channels/{id}/voices")
    s, j = st.json("GET", "/channels/%s/voices" % cid)
    check(s == 200 and sorted(j["profile_ids"]) == sorted([p1["id"], p2["id"]]), "GET /channels/{id}/voices")
    s, j = st.json("PUT", "/channels/%s/voices" % cid, {"profile_ids": [p1["id"], MISSING]})
    check(s == 422 and MISSING in j["detail"], "an unknown profile in the set -> 422")
    s, j = st.json("GET", "/channels/%s/voices" % cid)
    check(len(j["profile_ids"]) == 2, "a refused assignment changes nothing")
    for bad in [{}, {"profile_ids": "x"}]:
        s, _ = st.json("PUT", "/channels/%s/voices" % cid, bad)
        check(s == 422, "PUT voices %s -> 422" % bad)
    s, _ = st.json("PUT", "/channels/%s/voices" % MISSING, {"profile_ids": []})
    check(s == 404, "voices of an unknown channel -> 404")
    s, _ = st.json("GET", "/channels/%s/voices" % MISSING)
    check(s == 404, "GET voices of an unknown channel -> 404")

    s, j = st.json("PUT", "/profiles/%s/channels" % p1["id"], {"channel_ids": [default, cid]})
    check(s == 200, "PUT /profiles/{id}/channels")
    s, j = st.json("GET", "/profiles/%s/channels" % p1["id"])
    check(s == 200 and sorted(j["channel_ids"]) == sorted([default, cid]), "GET /profiles/{id}/channels")
    s, j = st.json("PUT", "/profiles/%s/channels" % p1["id"], {"channel_ids": [MISSING]})
    check(s == 422, "an unknown channel in the set -> 422")
    s, _ = st.json("GET", "/profiles/%s/channels" % MISSING)
    check(s == 404, "channels of an unknown profile -> 404")
    s, _ = st.json("PUT", "/profiles/%s/channels" % MISSING, {"channel_ids": []})
    check(s == 404, "PUT channels of an unknown profile -> 404")

    # assignments go with their profile and their channel
    st.json("DELETE", "/profiles/" + p2["id"])
    s, j = st.json("GET", "/channels/%s/voices" % cid)
    check(j["profile_ids"] == [p1["id"]], "a deleted profile leaves its channels")
    s, _ = st.json("DELETE", "/channels/" + cid)
    check(s == 200, "DELETE a channel")
    s, j = st.json("GET", "/profiles/%s/channels" % p1["id"])
    check(j["channel_ids"] == [default], "a deleted channel leaves its profiles")
    s, _ = st.json("DELETE", "/channels/" + cid)
    check(s == 404, "DELETE it again -> 404")
    st.stop()
finally:
    if st.proc:
        st.proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)
finish()
