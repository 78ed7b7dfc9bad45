#!/usr/bin/env python3
"""test_stream.py — streamed takes (issue 13) against the real server over HTTP.

POST /generate/stream: its first audio bytes leave long before the take ends (first byte vs total time is
printed), the WAV (unknown sizes) decodes with libsndfile and its samples are the non-streamed take's with
the same seed, raw PCM is the same bytes, a client that hangs up mid-stream cancels the generation (the
worker is free at once and the next request is served), bad input is 4xx naming the field. /v1/audio/speech
in wav and pcm is streamed too and equals the take it records. The tiny golden models (local Hub mirror)
never say EOS, so max_frames sets each take's length.
Usage: test_stream.py VOICEBOX_BIN GOLDEN_DIR
"""
import http.client
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_generation_e2e as e2e  # noqa: E402  (the Studio driver and check())
from studio_http import start_mirror  # noqa: E402
import test_takes as takes  # noqa: E402  (read_wav16, sndfile_decode)

check = e2e.check
FRAMES = 150  # 12 s of audio: long enough that the first bytes clearly lead the end
TEXT = "Streaming speech leaves the server while it is still being spoken."


def post_stream(studio, path, body, hang_up_after=None):
    """POSTs body and reads the answer as it comes. Returns (status, headers, data, t_headers, t_first_audio,
    t_total) in seconds from the request; the first audio byte is the first past a WAV's 44-byte header.
    hang_up_after: close the connection once that many audio bytes have come."""
    host, port = studio.base[len("http://"):].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    t0 = time.monotonic()
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    t_head = time.monotonic() - t0
    skip = 44 if r.getheader("Content-Type") == "audio/wav" else 0
    data, t_first = b"", None
    try:
        while True:
            piece = r.read1(65536) if r.status == 200 else r.read()
            if not piece:
                break
            data += piece
            if t_first is None and len(data) > skip:
                t_first = time.monotonic() - t0
            if hang_up_after is not None and len(data) - skip >= hang_up_after:
                break
    except http.client.IncompleteRead as e:  # a take that failed mid-way: the body is cut
        data += e.partial
        data = (data, "cut")
    t_total = time.monotonic() - t0
    status, headers = r.status, dict(r.getheaders())
    conn.close()
    return status, headers, data, t_head, t_first, t_total


def samples_of(pcm_bytes):
    return struct.unpack("<%dh" % (len(pcm_bytes) // 2), pcm_bytes[:len(pcm_bytes) // 2 * 2])


def same_audio(streamed, stored):
    """The stream is the stored take bit for bit, but for the one sample the engine's ICL cut may put in front
    of the stored take (qt.h, on_audio)."""
    return streamed == stored or streamed == stored[1:]


def main():
    binary, golden = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="vb-stream-")
    mirror = studio = None
    try:
        mirror, env = start_mirror({e2e.REPO_06: os.path.join(golden, "tiny-a")}, tmp)
        studio = e2e.Studio(binary, os.path.join(tmp, "data"), os.path.join(tmp, "server.log"), env)
        studio.start()
        status, body = studio.request("POST", "/profiles", {"name": "Streamer", "language": "en"})
        pid = body["id"]
        status, _ = studio.upload_sample(pid, os.path.join(golden, "audio", "ref_24k.wav"), e2e.REF_TEXT)
        check(status == 200, "profile with a sample (%s)" % status)
        ask = {"profile_id": pid, "text": TEXT, "language": "en", "model_size": "0.6B", "seed": 7,
               "max_frames": FRAMES, "temperature": 0.8}

        # the same take, not streamed (this also downloads and loads the model)
        status, take = studio.request("POST", "/generate", ask)
        check(status == 200 and take.get("status") == "completed", "the non-streamed take (%s %s)" % (status, take.get("status")))
        stored = takes.read_wav16(take["audio_path"])
        history_before = studio.request("GET", "/history")[1]["total"]

        # 1. POST /generate/stream: first audio bytes long before the end; a WAV libsndfile reads; the same samples
        status, headers, data, t_head, t_first, t_total = post_stream(studio, "/generate/stream", ask)
        print("POST /generate/stream, %d frames: headers after %.0f ms, first audio byte after %.0f ms, "
              "all %d bytes after %.0f ms" % (FRAMES, t_head * 1000, (t_first or 0) * 1000, len(data), t_total * 1000))
        check(status == 200 and headers.get("Content-Type") == "audio/wav" and isinstance(data, bytes),
              "POST /generate/stream -> 200 audio/wav, whole (%s %s)" % (status, headers.get("Content-Type")))
        check(t_first is not None and t_first < 0.5 * t_total,
              "the first audio bytes come before half the take is done (%.0f of %.0f ms)" %
              ((t_first or 0) * 1000, t_total * 1000))
        riff, riff_size, wave_, data_id, data_size = struct.unpack("<4sI4s24x4sI", data[:44])
        check(riff == b"RIFF" and wave_ == b"WAVE" and data_id == b"data" and riff_size == data_size == 0xFFFFFFFF,
              "its WAV header says the sizes are unknown (0xFFFFFFFF)")
        dec = takes.sndfile_decode(data, tmp)
        check(dec is not None and dec[0] == 24000 and dec[1] == 1 and dec[2] == (len(data) - 44) // 2,
              "libsndfile decodes the streamed WAV: %s (24 kHz mono, %d samples)" % (dec, (len(data) - 44) // 2))
        streamed = samples_of(data[44:])
        check(same_audio(streamed, stored),
              "its %d samples are those of the non-streamed take with the same seed (%d samples)" %
              (len(streamed), len(stored)))
        check(studio.request("GET", "/history")[1]["total"] == history_before,
              "a streamed take is not recorded in the history")

        # 2. raw PCM: the same bytes without the header
        status, headers, pcm, _, _, _ = post_stream(studio, "/generate/stream", dict(ask, format="pcm"))
        check(status == 200 and headers.get("Content-Type") == "audio/pcm" and pcm == data[44:],
              "format pcm -> the same samples as raw 16-bit PCM (%s, %d bytes)" % (status, len(pcm) if isinstance(pcm, bytes) else -1))

        # 3. chunks: a stream joins them with the stored take's crossfade (one sample of ICL cut per seam aside)
        chunked = dict(ask, text="First sentence of a chunked stream. " * 6, max_chunk_chars=100, max_frames=10,
                       crossfade_ms=50)
        status, take2 = studio.request("POST", "/generate", chunked)
        stored2 = takes.read_wav16(take2["audio_path"])
        status, _, data2, _, _, _ = post_stream(studio, "/generate/stream", chunked)
        streamed2 = samples_of(data2[44:]) if isinstance(data2, bytes) else ()
        check(status == 200 and abs(len(streamed2) - len(stored2)) <= 3,
              "a chunked stream is as long as the stored chunked take (%d vs %d samples)" % (len(streamed2), len(stored2)))

        # 4. a client that hangs up mid-stream cancels the generation; the worker is free for the next request
        mark = len(studio.log())
        long_ask = dict(ask, max_frames=3000)  # 4 minutes of audio if nobody stopped it
        t0 = time.monotonic()
        status, _, part, _, _, _ = post_stream(studio, "/generate/stream", long_ask, hang_up_after=48000)
        hung_up = time.monotonic()
        freed = None
        while time.monotonic() - hung_up < 20:
            gens = studio.request("GET", "/tasks/active")[1].get("generations", [])
            if not gens:
                freed = time.monotonic() - hung_up
                break
            time.sleep(0.02)
        print("hung up after %d bytes (%.0f ms); worker free %.0f ms later" %
              (len(part), (hung_up - t0) * 1000, (freed or -1) * 1000))
        check(status == 200 and freed is not None and freed < 5,
              "after the client hangs up the worker is free within seconds (%.0f ms)" % ((freed or -1) * 1000))
        log = studio.log()[mark:]
        check(re.search(r"listener left; cancelling", log) and re.search(r"Generation \S+ cancelled", log),
              "the server log says the stream's generation was cancelled")
        t0 = time.monotonic()
        status, body = studio.request("POST", "/generate", dict(ask, max_frames=5))
        check(status == 200 and body.get("status") == "completed",
              "the next request is served at once (%s in %.0f ms)" % (body.get("status"), (time.monotonic() - t0) * 1000))

        # 5. bad input: 4xx naming the field, before any audio
        unknown = "00000000-0000-4000-8000-000000000000"
        for bad, code, field in (({"seed": -1}, 422, "seed"), ({"text": ""}, 422, "text"),
                                 ({"temperature": 5}, 422, "temperature"), ({"format": "mp3"}, 422, "format"),
                                 ({"normalize": True}, 422, "normalize"), ({"model_size": "9B"}, 422, "model_size"),
                                 ({"language": "xx"}, 422, "language"), ({"profile_id": unknown}, 404, "profile_id")):
            status, body = studio.request("POST", "/generate/stream", dict(ask, **bad))
            check(status == code and body.get("field") == field,
                  "/generate/stream %s -> %d naming %s (%s %s)" % (bad, code, field, status, body.get("field")))
        status, body = studio.request("POST", "/generate/stream", b"not json", headers={"Content-Type": "application/json"})
        check(status == 400, "/generate/stream with a body that is not JSON -> 400 (%s)" % status)

        # 6. /v1/audio/speech in wav and pcm: streamed, and the same audio as the take it records
        for fmt in ("wav", "pcm"):
            status, headers, body, t_head, t_first, t_total = post_stream(
                studio, "/v1/audio/speech", {"model": "tts-1", "input": "Hello there, streaming.", "voice": "Streamer",
                                             "response_format": fmt})
            newest = (studio.request("GET", "/history?limit=1")[1].get("items") or [{}])[0]
            rec = takes.read_wav16(newest["audio_path"]) if newest.get("audio_path") else ()
            pcm = body[44:] if fmt == "wav" else body
            head_ok = fmt == "pcm" or struct.unpack("<I", body[40:44])[0] == 0xFFFFFFFF
            print("/v1/audio/speech %s: first audio byte after %.0f ms of %.0f ms" % (fmt, (t_first or 0) * 1000, t_total * 1000))
            check(status == 200 and head_ok and isinstance(pcm, bytes) and len(pcm) > 0
                  and same_audio(samples_of(pcm), rec) and newest.get("status") == "completed",
                  "/v1/audio/speech %s is streamed (%s) and equals the take it records (%d vs %d samples)" %
                  (fmt, headers.get("Content-Type"), len(pcm) // 2, len(rec)))
            if fmt == "wav":
                dec = takes.sndfile_decode(body, tmp)
                check(dec is not None and dec[2] == len(pcm) // 2, "libsndfile decodes it (%s)" % (dec,))
        # opus and flac are encoded as the take comes (libsndfile into a sink that never seeks back)
        for fmt in ("opus", "flac"):
            status, headers, body, t_head, t_first, t_total = post_stream(
                studio, "/v1/audio/speech", {"model": "tts-1", "input": "Hello there, streaming.", "voice": "Streamer",
                                             "response_format": fmt})
            newest = (studio.request("GET", "/history?limit=1")[1].get("items") or [{}])[0]
            secs = newest.get("duration") or 0.0
            dec = takes.sndfile_decode(body, tmp) if isinstance(body, bytes) else None
            print("/v1/audio/speech %s: first byte after %.0f ms of %.0f ms, %d bytes" %
                  (fmt, (t_first or 0) * 1000, t_total * 1000, len(body) if isinstance(body, bytes) else -1))
            check(status == 200 and dec is not None and dec[1] == 1 and secs > 0 and abs(dec[2] / dec[0] - secs) < 0.1,
                  "/v1/audio/speech %s is streamed (%s) and libsndfile decodes it: %s for a %.2f s take" %
                  (fmt, headers.get("Content-Type"), dec, secs))
        status, spec = studio.request("GET", "/openapi.json")
        op = spec.get("paths", {}).get("/generate/stream", {}).get("post", {})
        check("audio/pcm" in json.dumps(op.get("responses", {}).get("200", {})),
              "openapi.json describes POST /generate/stream")
    finally:
        if studio:
            studio.stop()
        if mirror:
            mirror.terminate()
        if e2e.failures:
            print("server log:\n" + open(os.path.join(tmp, "server.log")).read()[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)
    if e2e.failures:
        print("[FAILED] %d checks failed" % len(e2e.failures))
        return 1
    print("[SUCCESS] streamed takes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
