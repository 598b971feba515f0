"""Fixtures for the presigned-transfer tests: a real S3 endpoint (rclone) and a scriptable fault server.

* :func:`s3` starts ``rclone serve s3`` on a free loopback port. It checks SigV4 presigned signatures,
  host, expiry and refuses chunked uploads (411), like MinIO and S3. URLs are presigned with boto3,
  path-style, region us-east-1, signing only ``host`` as MinIO does.
* :func:`faulty` is a small threaded stdlib HTTP server for the branches no real store produces on
  demand: a connection dropped mid-body, a 503, a wrong ETag, a short GET body.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks.common import S3, rclone_binary, rclone_s3
from benchmarks.common import S3_BUCKET as BUCKET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3(tmp_path_factory) -> Iterator[S3]:
    """``rclone serve s3`` from the helper the benchmarks use too (skipped when rclone is missing)."""
    try:
        rclone_binary()
    except RuntimeError as err:
        pytest.skip(str(err))
    with rclone_s3(tmp_path_factory.mktemp("rclone-s3")) as endpoint:
        yield endpoint


@pytest.fixture
def write_jpegs():
    """``write_jpegs(folder, count)``: real noisy JPEGs (the IMAGE layout check decodes them)."""

    def write(folder: Path, count: int, size: tuple[int, int] = (320, 240)) -> None:
        from PIL import Image

        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = os.urandom(size[0] * size[1] * 3)
            Image.frombytes("RGB", size, pixels).save(folder / f"{i}.jpg", quality=90)

    return write


# --------------------------------------------------------------------------------------------------
# Fault server

CHUNK = 1024 * 1024


@dataclass
class Received:
    """One request as the fault server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    action: str
    received: int = 0
    md5: str | None = None


@dataclass
class FaultServer:
    """Objects kept in memory (small test files only); ``script`` holds the next actions, FIFO.

    PUT actions: ``ok``, ``drop`` (read half the body, then close without answering), ``503``,
    ``bad_etag`` (store, answer 200 with a wrong MD5 ETag), ``403``, ``400auth``, ``411``.
    GET actions: ``ok``, ``short`` (announce the full length, send half, close), ``503``, ``403``.
    Without a scripted action a request gets ``ok``.
    """

    url: str
    objects: dict[str, bytes] = field(default_factory=dict)
    log: list[Received] = field(default_factory=list)
    script: deque[str] = field(default_factory=deque)

    def presigned(self, key: str) -> str:
        return (
            f"{self.url}/{BUCKET}/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=testkey%2F20261126%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261126T000000Z"
            "&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "ab" * 32
        )


def _s3_error(code: str, message: str) -> bytes:
    xml = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return ('<?xml version="1.0" encoding="UTF-8"?>' + xml).encode()


def _make_handler(server: FaultServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        def _next(self) -> str:
            return server.script.popleft() if server.script else "ok"

        def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def do_PUT(self):
            action = self._next()
            record = Received("PUT", self.path, dict(self.headers.items()), action)
            server.log.append(record)
            length = int(self.headers.get("Content-Length", "-1"))
            if length < 0:
                self._answer(
                    411, _s3_error("MissingContentLength", "You must provide the Content-Length HTTP header.")
                )
                self.close_connection = True
                return
            limit = length // 2 if action == "drop" else length
            md5 = hashlib.md5()
            body = bytearray()
            while record.received < limit:
                chunk = self.rfile.read(min(CHUNK, limit - record.received))
                if not chunk:
                    break
                md5.update(chunk)
                body += chunk
                record.received += len(chunk)
            record.md5 = md5.hexdigest()
            if action == "drop":
                self._drop()
                return
            if record.received < length:  # client gave up: store nothing
                self.close_connection = True
                return
            if action == "503":
                self._answer(503, _s3_error("SlowDown", "Please reduce your request rate."))
            elif action == "503wait":  # a store that asks to come back in an hour
                self._answer(
                    503, _s3_error("SlowDown", "Please reduce your request rate."), {"Retry-After": "3600"}
                )
            elif action == "500":
                self._answer(500, _s3_error("InternalError", "We encountered an internal error."))
            elif action == "403":
                self._answer(
                    403,
                    _s3_error("SignatureDoesNotMatch", "The request signature we calculated does not match"),
                )
            elif action == "400auth":
                self._answer(
                    400,
                    _s3_error(
                        "InvalidArgument",
                        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                        "Signature query string parameter or the Authorization header should be specified",
                    ),
                )
            elif action == "411":
                self._answer(
                    411, _s3_error("MissingContentLength", "You must provide the Content-Length HTTP header.")
                )
            else:
                key = self.path.split("?", 1)[0]
                server.objects[key] = bytes(body)
                etag = "0" * 32 if action == "bad_etag" else record.md5
                self._answer(200, headers={"ETag": f'"{etag}"'})

        def do_GET(self):
            action = self._next()
            record = Received("GET", self.path, dict(self.headers.items()), action)
            server.log.append(record)
            key = self.path.split("?", 1)[0]
            if action == "503":
                self._answer(503, _s3_error("SlowDown", "Please reduce your request rate."))
                return
            if action == "403":
                self._answer(403, _s3_error("AccessDenied", "Request has expired"))
                return
            data = server.objects.get(key)
            if data is None:
                self._answer(404, _s3_error("NoSuchKey", "The specified key does not exist."))
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", f'"{hashlib.md5(data).hexdigest()}"')
            self.end_headers()
            if action == "short":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self._drop()
                return
            self.wfile.write(data)

    return Handler


@pytest.fixture
def faulty():
    state = FaultServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
