#!/usr/bin/env python3
"""test_http_hardening.py — the front door against request smuggling, slow clients and connection floods
(issue 16 items 3 and 4), through the real libmicrohttpd daemon of `voicebox serve` on raw sockets.

Smuggling: two Content-Length headers, a Content-Length that is not one number (an obs-fold joins lines into
"0 44"), Content-Length with Transfer-Encoding, a space before a header's colon, and unknown transfer codings
must get 400 (501 for an unknown coding) and a closed connection, so the bytes after the head never run as a
second request (the canary DELETE below must not delete anything). HTTP/1.1 without Host gets 400.
Floods: a client holding many idle or slow connections cannot make /health unreachable for others; the server
logs when a limit bites.
Lingering close (item 11): a body over its limit sent at once, without waiting for 100-continue (a raw socket,
Python urllib), still reads the 413 JSON instead of a reset; a Content-Length far beyond is answered at once.
Usage: test_http_hardening.py VOICEBOX_BIN
"""
import json, os, re, resource, socket, subprocess, sys, tempfile, time, shutil

BIN = sys.argv[1]
fails = 0


def check(cond, what):
    global fails
    print(("[PASS] " if cond else "[FAIL] ") + what)
    if not cond:
        fails += 1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def raw(port, data, timeout=3.0):
    """Sends data on one connection; returns (everything the server sent, whether it closed the connection)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    got, closed = b"", False
    s.settimeout(timeout)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            got += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    s.close()
    return got, closed


def statuses(resp):
    return [int(x) for x in re.findall(rb"HTTP/1\.[01] (\d{3}) ", resp)]


def http(port, method, path, body=None, timeout=5.0):
    data = json.dumps(body).encode() if body is not None else b""
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" \
           "Connection: close\r\n\r\n" % (method, path, port, len(data))
    got, _ = raw(port, head.encode() + data, timeout)
    head, _, rest = got.partition(b"\r\n\r\n")
    st = statuses(head)
    return (st[0] if st else 0), rest


def main():
    tmp = tempfile.mkdtemp(prefix="voicebox-hardening.")
    port = free_port()
    log = os.path.join(tmp, "server.log")
    srv = subprocess.Popen([BIN, "serve", "--port", str(port), "--data-dir", os.path.join(tmp, "data"),
                            "--log-file", log, "--web-dir", os.path.join(tmp, "no-web")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if http(port, "GET", "/health", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        host = b"Host: 127.0.0.1:%d\r\n" % port
        n = 90  # about the smuggled request's length; it is only what the bad heads claim
        cases = [
            ("two Content-Length headers", b"POST /profiles HTTP/1.1\r\n" + host +
             b"Content-Type: application/json\r\nContent-Length: 0\r\nContent-Length: %d\r\n\r\n" % n, 400),
            ("an obs-folded Content-Length", b"POST /profiles HTTP/1.1\r\n" + host +
             b"Content-Type: application/json\r\nContent-Length: 0\r\n %d\r\n\r\n" % n, 400),
            ("Content-Length and Transfer-Encoding", b"POST /profiles HTTP/1.1\r\n" + host +
             b"Content-Type: application/json\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("'Transfer-Encoding : chunked' (space before the colon)", b"POST /profiles HTTP/1.1\r\n" + host +
             b"Content-Type: application/json\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
            ("an unknown transfer coding", b"POST /profiles HTTP/1.1\r\n" + host +
             b"Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            ("a Content-Length that is not a number", b"POST /profiles HTTP/1.1\r\n" + host +
             b"Content-Type: application/json\r\nContent-Length: +0\r\n\r\n", 400),
            ("HTTP/1.1 without Host", b"GET /health HTTP/1.1\r\n\r\n", 400),
        ]
        for k, (what, head, want) in enumerate(cases):
            st, body = http(port, "POST", "/profiles", {"name": "Canary %d" % k, "language": "en"})
            pid = json.loads(body)["id"] if st == 200 else "none"
            smuggled = ("DELETE /profiles/%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 0\r\n\r\n"
                        % (pid, port)).encode()
            got, closed = raw(port, head + smuggled)
            st = statuses(got)
            alive = http(port, "GET", "/profiles/" + pid)[0]
            # (libmicrohttpd's own 400 for a malformed Content-Length repeats its status line: count the first)
            check(st[:1] == [want] and closed and alive == 200,
                  "%s -> %d and closed, the smuggled DELETE never runs (statuses %s, closed %s, canary %d)"
                  % (what, want, st, closed, alive))
        # an ordinary keep-alive pair still works
        got, _ = raw(port, b"GET /health HTTP/1.1\r\n" + host + b"\r\nGET /health HTTP/1.1\r\n" + host +
                     b"Connection: close\r\n\r\n")
        check(statuses(got) == [200, 200], "two pipelined GETs on one connection -> 200 200 (%s)" % statuses(got))
        got, _ = raw(port, b"GET /health HTTP/1.0\r\n\r\n")
        check(statuses(got) == [200], "HTTP/1.0 without Host -> 200 (%s)" % statuses(got))

        # ---- a file name over 255 bytes is still a file (item 11) ----
        import math, struct
        pcm = b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * 220 * i / 24000))) for i in range(72000))
        wav = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 24000,
                                                                                   48000, 2, 16) + b"data" + struct.pack("<I", len(pcm)) + pcm
        st, body = http(port, "POST", "/profiles", {"name": "Long file names", "language": "en"})
        lpid = json.loads(body)["id"] if st == 200 else "none"
        fname = ("ä" * 200 + ".wav").encode()  # 404 bytes
        b = b"----vbx"
        form = (b"--" + b + b"\r\nContent-Disposition: form-data; name=\"reference_text\"\r\n\r\nA tone.\r\n--" + b +
                b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + fname +
                b"\"\r\nContent-Type: audio/wav\r\n\r\n" + wav + b"\r\n--" + b + b"--\r\n")
        head = ("POST /profiles/%s/samples HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: multipart/form-data; "
                "boundary=%s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (lpid, port, b.decode(), len(form)))
        got, _ = raw(port, head.encode() + form, timeout=10)
        check(statuses(got)[:1] == [200], "a sample whose file name is 404 bytes is accepted (%s %s)"
              % (statuses(got), got.partition(b"\r\n\r\n")[2][:160]))

        # ---- a 413 reaches a client that sends its body at once (item 11: lingering close) ----
        big = b'{"name": "' + b"x" * (16 * 1024 * 1024) + b'"}'  # 16 MB, the JSON limit is 1 MB
        head = ("POST /profiles HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n" % (port, len(big))).encode()
        try:
            got, _ = raw(port, head + big, timeout=10)
        except OSError as e:
            got = b"error %s" % str(e).encode()
        body = got.partition(b"\r\n\r\n")[2]
        check(statuses(got)[:1] == [413] and b'"detail"' in body,
              "a 16 MB JSON body written at once (no Expect) gets the 413 JSON, not a reset (%s %s)"
              % (statuses(got), got[:60]))
        import urllib.request, urllib.error
        req = urllib.request.Request("http://127.0.0.1:%d/profiles" % port, data=big, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=10)
            got = "200"
        except urllib.error.HTTPError as e:
            got = "%d %s" % (e.code, e.read()[:120])
        except OSError as e:
            got = "error %s" % e
        check(got.startswith("413") and "detail" in got, "Python urllib posting 16 MB of JSON reads the 413 (%s)"
              % got[:160])
        form = (b"--" + b + b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                b"Content-Type: audio/wav\r\n\r\n" + b"\0" * (51 * 1024 * 1024) + b"\r\n--" + b + b"--\r\n")
        head = ("POST /profiles/%s/samples HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: multipart/form-data; "
                "boundary=%s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (lpid, port, b.decode(), len(form)))
        try:
            got, _ = raw(port, head.encode() + form, timeout=20)
        except OSError as e:
            got = b"error %s" % str(e).encode()
        check(statuses(got)[:1] == [413] and b'"file"' in got,
              "a 51 MB sample upload written at once gets the 413 naming file (%s %s)" % (statuses(got), got[-120:]))
        del form
        # beyond the bound (64 MB past the limit) the server does not read on: it answers and closes
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(("POST /profiles HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                   "Content-Length: 100000000000\r\n\r\n" % port).encode() + b"x" * 65536)
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
        s.close()
        check(statuses(got)[:1] == [413], "a 100 GB Content-Length is answered 413 at once and closed (%s)"
              % statuses(got))

        # ---- floods and slow clients (item 3) ----
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        slow = socket.socket()
        slow.bind(("127.0.0.3", 0))
        slow.connect(("127.0.0.1", port))
        slow.sendall(b"GET /health HTTP/1.1\r\n")  # and never the rest of its head
        t_slow = time.monotonic()
        flood, refused = [], 0
        for _ in range(1100):  # more than libmicrohttpd's default limit of about 1020 for everyone
            c = socket.socket()
            c.bind(("127.0.0.2", 0))
            try:
                c.connect(("127.0.0.1", port))
                flood.append(c)
            except OSError:
                refused += 1
                c.close()
        time.sleep(0.5)
        t0 = time.monotonic()
        try:
            st, _ = http(port, "GET", "/health", timeout=5)
        except OSError as e:
            st = "error %s" % e
        ms = (time.monotonic() - t0) * 1000
        check(st == 200 and ms < 2000,
              "/health from another client with 1,100 idle connections open from 127.0.0.2 -> %s in %.0f ms" % (st, ms))
        slow.settimeout(20)
        try:
            closed = slow.recv(100) == b""
        except (socket.timeout, ConnectionResetError):
            closed = False
        waited = time.monotonic() - t_slow
        check(closed and waited < 16,
              "a client that stops in the middle of its request head is closed (after %.1f s)" % waited)
        for c in flood:
            c.close()
        slow.close()
        time.sleep(0.3)
        with open(log, errors="replace") as f:
            text = f.read()
        check("connection limit: refused a connection from 127.0.0.2" in text,
              "the log says when the per-client limit bites")
        check(text.count("connection limit:") <= 3, "and says it once per 10 s, not per socket (%d lines)"
              % text.count("connection limit:"))
        st, _ = http(port, "GET", "/health")
        check(st == 200, "after the flood /health -> 200 (%s)" % st)
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % fails if fails else "all hardening checks passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
