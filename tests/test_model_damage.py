#!/usr/bin/env python3
"""test_model_damage.py — a downloaded model whose files are damaged (issue 16 item 12), against the real
`voicebox serve` and `voicebox models`, with the golden tiny-a served by the local Hub mirror.

For each damage — model.safetensors cut in half, config.json replaced by garbage of another size, one byte of
config.json changed (same size: only a checksum tells), speech_tokenizer/model.safetensors gone — the model
fails to load with a clear error (409 naming the file), /models/status says downloaded and damaged with that
error, `voicebox models list` says "damaged", and POST /models/download repairs it (the downloader checks
every file against its sha256 or git sha1 and fetches the bad ones again), after which it loads.
Usage: test_model_damage.py VOICEBOX_BIN GOLDEN_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from studio_http import Studio, check, finish  # noqa: E402

BIN, GOLDEN = sys.argv[1], sys.argv[2]
REPO = "Qwen/Qwen3-TTS-12Hz-0.6B-Base"
NAME = "qwen-tts-0.6B"


def status(st):
    s, body = st.json("GET", "/models/status")
    return next(m for m in body["models"] if m["model_name"] == NAME)


def download(st, timeout=120):
    """POST /models/download, then follow the progress stream to its end (at most `timeout` seconds: the
    stream's heartbeats would keep a stalled download open for ever); the last event."""
    s, body = st.json("POST", "/models/download", {"model_name": NAME})
    last = None
    end = time.monotonic() + timeout
    with urllib.request.urlopen(st.base + "/models/progress/" + NAME, timeout=10) as r:
        for line in r:
            line = line.decode().strip()
            if line.startswith("data: "):
                last = json.loads(line[6:])
            if time.monotonic() > end:
                print("the download did not end in %d s; last event %s; the log ends:\n%s"
                      % (timeout, last, "\n".join(open(st.log_file, errors="replace").read().splitlines()[-30:])))
                break
    return s, body, last


def snapshot_dir(hf):
    repo = os.path.join(hf, "hub", "models--" + REPO.replace("/", "--"))
    ref = open(os.path.join(repo, "refs", "main")).read().strip()
    return os.path.join(repo, "snapshots", ref)


def cut_weights(snap):
    p = os.path.join(snap, "model.safetensors")
    os.truncate(p, os.path.getsize(p) // 2)  # through the link: the blob itself, as a crash mid-copy leaves it
    return "model.safetensors"


def garbage_config(snap):
    with open(os.path.join(snap, "config.json"), "w") as f:
        f.write("this is not JSON at all")
    return "config.json"


def flip_config_byte(snap):
    p = os.path.join(snap, "config.json")
    data = bytearray(open(p, "rb").read())
    data[0] = ord("X")  # same size: only the checksum can tell on repair
    open(p, "wb").write(bytes(data))
    return "config.json"


def drop_codec(snap):
    os.unlink(os.path.realpath(os.path.join(snap, "speech_tokenizer", "model.safetensors")))  # the blob
    return "speech_tokenizer: no model.safetensors"


def main():
    tmp = tempfile.mkdtemp(prefix="voicebox-damage.")
    mirror = st = None
    try:
        mirror = subprocess.Popen([sys.executable, os.path.join(HERE, "hub_mirror.py"), "--port", "0", "--quiet",
                                   "--map", "%s=%s" % (REPO, os.path.join(GOLDEN, "tiny-a"))],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        hf = os.path.join(tmp, "hf")
        os.environ.update(HF_ENDPOINT="http://127.0.0.1:%s" % mirror.stdout.readline().strip(), HF_HOME=hf,
                          VOICEBOX_THREADS="2")
        os.environ.pop("HF_HUB_CACHE", None)
        st = Studio(BIN, os.path.join(tmp, "data"), os.path.join(tmp, "server.log"))
        st.start()
        s, _, last = download(st)
        m = status(st)
        check(last and last["status"] == "complete" and m["downloaded"] and m.get("damaged") is False
              and m.get("error") is None, "the model downloads and is not damaged (%s %s)" % (last, m))
        snap = snapshot_dir(hf)
        for damage in (cut_weights, garbage_config, flip_config_byte, drop_codec):
            what = damage(snap)
            m = status(st)
            check(m["downloaded"] and m.get("damaged") is True and what in (m.get("error") or ""),
                  "%s: /models/status says downloaded, damaged, naming %s (%s)" % (damage.__name__, what, m.get("error")))
            check(snap not in (m.get("error") or ""), "%s: the error names the file inside the model, not its path"
                  % damage.__name__)
            out = subprocess.run([BIN, "models", "list"], capture_output=True, text=True).stdout
            row = next((line for line in out.splitlines() if line.startswith(NAME)), "")
            check(" damaged " in row and what in out, "%s: `voicebox models list` says damaged (%s)"
                  % (damage.__name__, out.strip().replace("\n", " | ")[:300]))
            s, body = st.json("POST", "/models/load", {"model_size": "0.6B"})
            check(s == 409 and "damaged" in body["detail"] and what in body["detail"]
                  and body.get("field") == "model_size",
                  "%s: POST /models/load -> 409 saying it is damaged (%s %s)" % (damage.__name__, s, body))
            s, body, last = download(st)
            m = status(st)
            check(s == 200 and last and last["status"] == "complete" and m["downloaded"] and m.get("damaged") is False,
                  "%s: POST /models/download repairs it (%s %s, %s, %s)" % (damage.__name__, s, body, last, m))
            s, body = st.json("POST", "/models/load", {"model_size": "0.6B"})
            check(s == 200, "%s: then it loads (%s %s)" % (damage.__name__, s, body))
            st.json("POST", "/models/unload")
        # a damaged model the CLI repairs: `voicebox models pull`
        cut_weights(snap)
        r = subprocess.run([BIN, "models", "pull", NAME], capture_output=True, text=True, timeout=120)
        m = status(st)
        check(r.returncode == 0 and m.get("damaged") is False, "`voicebox models pull` repairs a cut model (%d %s)"
              % (r.returncode, r.stderr.strip()[-200:]))
        st.stop()
    finally:
        if st and st.proc:
            st.proc.kill()
            st.proc.wait()
        if mirror:
            mirror.kill()
            mirror.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
