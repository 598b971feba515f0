"""A discard HTTP server: answers ``PUT`` by reading the body into one reused buffer and dropping it.

It shows what the client side alone can do on loopback (no hashing, no disk). Bodies must carry
``Content-Length`` (like S3, chunked uploads get 411). Run it as ``python -m benchmarks.sink PORT``;
it prints ``ready <port>`` once listening.
"""

from __future__ import annotations

import contextlib
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUFFER = 1024 * 1024


class DiscardHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_PUT(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None:
            self._answer(411)
            self.close_connection = True
            return
        remaining = int(length)
        buf = bytearray(BUFFER)
        view = memoryview(buf)
        raw = self.rfile  # a BufferedReader over the socket
        while remaining > 0:
            n = raw.readinto(view[: min(BUFFER, remaining)])
            if not n:
                self.close_connection = True
                return
            remaining -= n
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main(argv: list[str]) -> int:
    port = int(argv[1]) if len(argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), DiscardHandler)
    server.daemon_threads = True
    print(f"ready {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
