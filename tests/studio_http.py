"""studio_http.py — what the Python API tests share: a `voicebox serve` on a free port with a temp data dir,
requests (JSON and multipart), pass/fail bookkeeping and 16-bit WAV reading/writing. Standard library only."""
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import wave

failures = []


def check(cond, what):
    print(("[PASS] " if cond else "[FAIL] ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def finish():
    print("%d failure(s)" % len(failures))
    sys.exit(1 if failures else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_mirror(maps, tmp):
    """Starts tests/hub_mirror.py serving each {repo id: model dir} on a free port; returns the process and an
    environment for `voicebox serve` that downloads from it into a private HF_HOME under tmp, on 2 threads."""
    args = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "hub_mirror.py"),
            "--port", "0", "--quiet"]
    for repo, model_dir in maps.items():
        args += ["--map", "%s=%s" % (repo, model_dir)]
    mirror = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    env = dict(os.environ, HF_ENDPOINT="http://127.0.0.1:%d" % int(mirror.stdout.readline()),
               HF_HOME=os.path.join(tmp, "hf"), VOICEBOX_THREADS="2")
    for k in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE"):
        env.pop(k, None)
    return mirror, env


class Studio:
    def __init__(self, binary, data_dir, log_file):
        self.binary, self.data_dir, self.log_file = binary, data_dir, log_file
        self.proc = None
        self.base = None

    def start(self):
        port = free_port()
        self.base = "http://127.0.0.1:%d" % port
        self.out = open(self.log_file + ".out", "ab")
        self.proc = subprocess.Popen([self.binary, "serve", "--port", str(port), "--data-dir", self.data_dir,
                                      "--log-file", self.log_file, "--web-dir", self.data_dir + "-no-web"],
                                     stdout=self.out, stderr=self.out)
        for _ in range(400):
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("voicebox serve did not answer on " + self.base)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            rc = self.proc.wait(timeout=60)
            self.proc = None
            self.out.close()
            check(rc == 0, "the server exits 0 on SIGTERM (got %s)" % rc)

    def request(self, method, path, body=None, headers=None, timeout=120):
        """(status, headers, raw bytes). body: dict/list as JSON, bytes as is."""
        data = None
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode()
            headers["Content-Type"] = "application/json"
        elif body is not None:
            data = body
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, method, path, body=None):
        """(status, parsed JSON or None)."""
        status, _, raw = self.request(method, path, body)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, None

    def upload(self, path, fields, files):
        """multipart/form-data POST. fields: {name: str}; files: {name: (filename, bytes, type)}."""
        boundary = "----voicebox" + uuid.uuid4().hex
        parts = []
        for k, v in fields.items():
            parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n' % (boundary, k)).encode() +
                         v.encode() + b"\r\n")
        for k, (fname, data, ctype) in files.items():
            parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                          'Content-Type: %s\r\n\r\n' % (boundary, k, fname, ctype)).encode() + data + b"\r\n")
        body = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
        status, _, raw = self.request("POST", path, body,
                                      {"Content-Type": "multipart/form-data; boundary=" + boundary})
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, None


def read_wav16(data_or_path):
    """(rate, [int samples]) of a mono 16-bit WAV given as bytes or a path."""
    import io
    f = wave.open(io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path, "rb")
    assert f.getsampwidth() == 2 and f.getnchannels() == 1, (f.getsampwidth(), f.getnchannels())
    frames = f.readframes(f.getnframes())
    return f.getframerate(), list(struct.unpack("<%dh" % (len(frames) // 2), frames))


def write_wav16(path, samples, rate=24000):
    """samples: floats in [-1, 1]."""
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(b"".join(struct.pack("<h", max(-32768, min(32767, int(round(x * 32767))))) for x in samples))


def tone(freq, seconds, amp, rate=24000):
    import math
    return [amp * math.sin(2 * math.pi * freq * i / rate) for i in range(int(seconds * rate))]


def png_rgba(w, h, pixel):
    """A PNG written by hand (zlib + CRC): pixel(x, y) -> (r, g, b, a)."""
    import zlib
    raw = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(w)) for y in range(h))

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
