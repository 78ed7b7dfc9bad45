#!/usr/bin/env python3
"""hub_mirror.py — a small local stand-in for the Hugging Face Hub, for voicebox's download tests.

Serves, for each --map REPO=DIR, what a Hub client needs to download a model snapshot:
  GET  /api/models/{repo}[/revision/{rev}][?blobs=true]  -> {id, modelId, sha, siblings: [{rfilename, ...}]}
  HEAD|GET /{repo}/resolve/{rev}/{path}                   -> the file; LFS files (*.safetensors, *.bin, ... or
                                                             >= 10 MB) answer 302 to /lfs/{sha256} as the Hub
                                                             redirects to its CDN
  HEAD|GET /lfs/{sha256}                                  -> LFS content
with the Hub's headers: ETag (git blob sha1, quoted), X-Repo-Commit, and for LFS files X-Linked-Etag (the
sha256) and X-Linked-Size; Range requests (206 / 416); X-Error-Code RepoNotFound / RevisionNotFound /
EntryNotFound on misses. The commit id is a sha1 over the served tree, so it changes when the files do.

Directory symlinks are followed. A small regular file whose whole content is a relative path to an existing
directory (a symlink flattened by a copy, as in shared/golden's `speech_tokenizer`) is treated as that
symlink.

Usage:
  hub_mirror.py --port 0 --map Qwen/Qwen3-TTS-12Hz-1.7B-Base=../shared/golden/tiny-b [--map ...]
                [--throttle-kbps N] [--fail-after-bytes N] [--refuse-ranges] [--host 127.0.0.1] [--quiet]
The first line on stdout is the port it listens on. Requests are logged on stderr, one line each, with the
Range header when there is one ("GET /lfs/ab12... range=bytes=1024- -> 206"). --fail-after-bytes N drops the
connection after N body bytes, once per file (the first full GET of each file), to test resuming.
--refuse-ranges answers every Range request 416, as a server whose copy changed since a partial file was
written, to test starting a blob over.
Stops on SIGTERM / SIGINT.
"""
import argparse
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".gguf", ".npz", ".h5", ".msgpack")
LFS_MIN_SIZE = 10 * 1024 * 1024
CHUNK = 16 * 1024


def flattened_link(path):
    """The directory a flattened symlink file points at, or None."""
    try:
        if os.path.getsize(path) > 1024:
            return None
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text or "\n" in text.strip() or "\0" in text:
        return None
    target = os.path.normpath(os.path.join(os.path.dirname(path), text.strip()))
    return target if os.path.isdir(target) else None


def walk_files(root, rel="", depth=0):
    """(relative path, absolute path) of every file under root, following directory links."""
    if depth > 8:
        return
    for name in sorted(os.listdir(root)):
        if name.startswith(".") and name != ".gitattributes":
            continue
        full = os.path.join(root, name)
        relpath = rel + name
        if os.path.isdir(full):
            yield from walk_files(full, relpath + "/", depth + 1)
        elif os.path.isfile(full):
            link = flattened_link(full)
            if link:
                yield from walk_files(link, relpath + "/", depth + 1)
            else:
                yield relpath, full


class RepoFile:
    def __init__(self, rel, path):
        self.rel = rel
        self.path = path
        self.size = os.path.getsize(path)
        git = hashlib.sha1(b"blob %d\0" % self.size)
        sha = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                git.update(block)
                sha.update(block)
        self.oid = git.hexdigest()
        self.sha256 = sha.hexdigest()
        self.lfs = rel.endswith(LFS_SUFFIXES) or self.size >= LFS_MIN_SIZE


class Repo:
    def __init__(self, repo_id, root):
        self.repo_id = repo_id
        self.files = {rel: RepoFile(rel, path) for rel, path in walk_files(root)}
        tree = hashlib.sha1(repo_id.encode() + b"\n")
        for rel in sorted(self.files):
            tree.update(("%s %s\n" % (rel, self.files[rel].oid)).encode())
        self.commit = tree.hexdigest()


class Mirror:
    def __init__(self, repos, throttle_kbps, fail_after, refuse_ranges=False):
        self.repos = repos
        self.refuse_ranges = refuse_ranges
        self.lfs = {f.sha256: f for r in repos.values() for f in r.files.values() if f.lfs}
        self.throttle_kbps = throttle_kbps
        self.fail_after = fail_after
        self.failed = set()  # files whose connection was already dropped once
        self.lock = threading.Lock()

    def should_fail(self, key):
        if self.fail_after is None:
            return False
        with self.lock:
            if key in self.failed:
                return False
            self.failed.add(key)
            return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hub-mirror/1"
    mirror = None
    quiet = False

    def log_message(self, fmt, *args):
        pass

    def log(self, status):
        if not self.quiet:
            rng = self.headers.get("Range")
            sys.stderr.write("%s %s%s -> %d\n" % (self.command, self.path, " range=" + rng if rng else "", status))
            sys.stderr.flush()

    def send_json(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log(status)

    def error(self, status, code, message):
        self.send_json(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    def find_repo(self, parts):
        """(repo, rest) for a path split into parts that starts with org/name, else (None, parts)."""
        if len(parts) >= 2:
            repo = self.mirror.repos.get(parts[0] + "/" + parts[1])
            if repo:
                return repo, parts[2:]
        return None, parts

    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        query = urllib.parse.parse_qs(url.query)
        if len(parts) >= 2 and parts[0] == "api" and parts[1] == "models":
            return self.api_model(parts[2:], query)
        if len(parts) == 2 and parts[0] == "lfs":
            f = self.mirror.lfs.get(parts[1])
            if not f:
                return self.error(404, "EntryNotFound", "no LFS object %s" % parts[1])
            return self.send_file(f, None, {"ETag": '"%s"' % f.sha256})
        repo, rest = self.find_repo(parts)
        if repo and len(rest) >= 3 and rest[0] == "resolve":
            return self.resolve(repo, rest[1], "/".join(rest[2:]))
        if not repo and len(parts) >= 3 and "resolve" in parts[2:3]:
            return self.error(401, "RepoNotFound", "Repository not found")
        return self.error(404, "NotFound", "no route for %s" % url.path)

    def api_model(self, parts, query):
        repo, rest = self.find_repo(parts)
        if not repo:
            return self.error(401, "RepoNotFound", "Repository not found")
        if rest and (len(rest) != 2 or rest[0] != "revision"):
            return self.error(404, "NotFound", "unknown API path")
        if rest and rest[1] not in ("main", repo.commit):
            return self.error(404, "RevisionNotFound", "Invalid rev id: %s" % rest[1])
        blobs = query.get("blobs", ["false"])[0].lower() in ("1", "true")
        siblings = []
        for rel in sorted(repo.files):
            f = repo.files[rel]
            s = {"rfilename": rel}
            if blobs:
                s["blobId"] = f.oid
                s["size"] = f.size
                if f.lfs:
                    s["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": 134}
            siblings.append(s)
        self.send_json(200, {"_id": repo.commit[:24], "id": repo.repo_id, "modelId": repo.repo_id,
                             "sha": repo.commit, "private": False, "gated": False, "disabled": False,
                             "library_name": "transformers", "tags": [], "siblings": siblings})

    def resolve(self, repo, rev, rel):
        if rev not in ("main", repo.commit):
            return self.error(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
        f = repo.files.get(rel)
        if not f:
            return self.error(404, "EntryNotFound", "Entry not found", )
        common = {"X-Repo-Commit": repo.commit, "ETag": '"%s"' % f.oid, "Accept-Ranges": "bytes"}
        if f.lfs:
            host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
            body = b"Found. Redirecting"
            self.send_response(302)
            for k, v in common.items():
                self.send_header(k, v)
            self.send_header("X-Linked-Etag", '"%s"' % f.sha256)
            self.send_header("X-Linked-Size", str(f.size))
            self.send_header("Location", "http://%s/lfs/%s" % (host, f.sha256))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return self.log(302)
        return self.send_file(f, None, common)

    def send_file(self, f, _unused, headers):
        start, end = 0, f.size - 1
        status = 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            try:
                if a:
                    start = int(a)
                    end = min(int(b), f.size - 1) if b else f.size - 1
                elif b:  # suffix range
                    start = max(0, f.size - int(b))
                status = 206
            except ValueError:
                status = 200
            if status == 206 and (start >= f.size or start > end or self.mirror.refuse_ranges):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % f.size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return self.log(416)
        length = end - start + 1 if f.size else 0
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, f.size))
        self.end_headers()
        self.log(status)
        if self.command == "HEAD":
            return
        drop_at = None
        if self.mirror.fail_after is not None and length > self.mirror.fail_after and self.mirror.should_fail(f.path):
            drop_at = self.mirror.fail_after
        sent = 0
        rate = self.mirror.throttle_kbps * 1024.0 if self.mirror.throttle_kbps else None
        t0 = time.monotonic()
        with open(f.path, "rb") as fh:
            fh.seek(start)
            while sent < length:
                n = min(CHUNK, length - sent)
                if drop_at is not None:
                    n = min(n, drop_at - sent)
                data = fh.read(n)
                if not data:
                    break
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                except OSError:
                    self.close_connection = True
                    return
                sent += len(data)
                if drop_at is not None and sent >= drop_at:
                    if not self.quiet:
                        sys.stderr.write("dropped %s after %d bytes\n" % (f.rel, sent))
                        sys.stderr.flush()
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if rate:
                    ahead = sent / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)


def main():
    ap = argparse.ArgumentParser(description="A local Hugging Face Hub mirror for tests.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout's first line)")
    ap.add_argument("--map", action="append", default=[], metavar="REPO=DIR", help="serve DIR as REPO (repeatable)")
    ap.add_argument("--throttle-kbps", type=float, default=0, help="limit each file body to N KiB/s")
    ap.add_argument("--fail-after-bytes", type=int, default=None,
                    help="drop the connection after N body bytes, once per file")
    ap.add_argument("--refuse-ranges", action="store_true", help="answer every Range request 416")
    ap.add_argument("--quiet", action="store_true", help="do not log requests on stderr")
    args = ap.parse_args()
    repos = {}
    for m in args.map:
        repo_id, sep, d = m.partition("=")
        if not sep or repo_id.count("/") != 1 or not os.path.isdir(d):
            ap.error("--map %s: expected ORG/NAME=DIR with an existing DIR" % m)
        repos[repo_id] = Repo(repo_id, d)
    if not repos:
        ap.error("give at least one --map REPO=DIR")
    Handler.mirror = Mirror(repos, args.throttle_kbps, args.fail_after_bytes, args.refuse_ranges)
    Handler.quiet = args.quiet
    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    httpd.daemon_threads = True
    try:  # one write, so a reader that takes the line and closes the pipe gets all of it
        sys.stdout.write("%d\n" % httpd.server_address[1])
        sys.stdout.flush()
    except OSError:
        pass
    if not args.quiet:
        for r in repos.values():
            sys.stderr.write("serving %s at commit %s (%d files)\n" % (r.repo_id, r.commit, len(r.files)))
        sys.stderr.flush()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start())
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    httpd.server_close()


if __name__ == "__main__":
    main()
