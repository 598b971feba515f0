"""The HTTP front: one port for ``/api/*`` (nginx-style prefix strip), ``/minio/*`` and ``/_emulator/*``."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from . import annotators
from .api import ApiError, NotFound, Request, Response, envelope, error_response
from .faults import AFTER_KINDS, Fault, nginx_page
from .storage import CHUNK

if TYPE_CHECKING:
    from .emulator import Xtreme1Emulator

OPEN_PATHS = ("/actuator/", "/user/register", "/user/login", "/ontology/exportAsJson")
UNAUTHORIZED = b'{"code":"LOGIN_STATUS_TIMEOUT","message":"User login status timeout","data":null}'


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Hundreds of triggers may connect at once; the stdlib's backlog of 5 would drop their SYNs.
    request_queue_size = 511

    def __init__(self, address: tuple[str, int], emulator: Xtreme1Emulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.conn_lock:
            self.connections.add(sock)
        return sock, addr

    def shutdown_request(self, request) -> None:
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx/1.23.1"

    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.emu._busy():
            self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    # ----------------------------------------------------------------------------------------- helpers

    @property
    def emu(self) -> Xtreme1Emulator:
        return self.server.emulator

    def header_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items()}

    def content_length(self) -> int | None:
        raw = self.headers.get("Content-Length")
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    def read_body(self) -> bytes:
        length = self.content_length()
        if length is not None:
            return self.rfile.read(length)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        return b""

    def body_reader(self) -> Any:
        """Where a streamed body is read from: the socket, slowed down by a ``throttle`` fault."""
        seconds = getattr(self, "_throttle", None)
        if not seconds:
            return self.rfile
        return _Throttled(self.rfile, seconds, self.content_length() or 1)

    def drain_body(self) -> None:
        length = self.content_length()
        if length is None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                self.read_body()
            return
        while length > 0:
            chunk = self.rfile.read(min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)

    def send(self, resp: Response) -> None:
        after = getattr(self, "_after_fault", None)
        if after is not None:
            # The request was handled in full; now its answer gets lost on the way back.
            self._after_fault = None
            self._entry["fault"] = after.kind
            self._entry["status"] = resp.status
            self.commit_log()
            if after.kind == "drop_answer":
                self.drop()
                return
            time.sleep(after.delay)
            with contextlib.suppress(OSError):  # the client has given up by now
                self._send(resp)
            return
        self._send(resp)

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        body = b"" if self.command == "HEAD" and "Content-Length" in resp.headers else resp.body
        if "Content-Length" not in resp.headers:
            self.send_header("Content-Length", str(len(resp.body)))
        self._entry["status"] = resp.status
        self.commit_log()
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def commit_log(self) -> None:
        """Publish this request's log entry (before the answer leaves, so clients never outrun it)."""
        entry = self._entry
        if entry.get("logged") or entry.get("kind") is None:
            return
        entry["logged"] = True
        if entry["kind"] == "api":
            self.emu._log_request(entry)
        else:
            self.emu._log_storage(entry)

    def drop(self) -> None:
        """Close the socket without an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # ---------------------------------------------------------------------------------------- dispatch

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        self._after_fault: Fault | None = None
        self._throttle: float | None = None
        if path.startswith("/_emulator/"):
            self._entry = {"kind": None}
            self._admin(path, parts.query)
            return
        is_api = path == "/api" or path.startswith("/api/")
        is_storage = path.startswith("/minio/")
        entry: dict[str, Any] = {
            "method": self.command,
            "path": path,
            "query": parse_qs(parts.query, keep_blank_values=True),
            "headers": self.header_dict(),
            "status": None,
        }
        if is_storage:
            entry["bytes"] = 0
        entry["kind"] = "api" if is_api else "storage" if is_storage else None
        self._entry = entry
        try:
            stalls = self._apply_faults(path, entry)
            if entry.get("answered"):
                return
            if is_api:
                self._api(path[4:] or "/", parts.query, entry, stalls)
            elif is_storage:
                self.emu._storage.handle(self, path[len("/minio") :], parts.query, entry)
            else:
                self.drain_body()
                self.send(Response(404, nginx_page(404).encode(), "text/html"))
                entry["status"] = 404
        finally:
            self.commit_log()

    def _apply_faults(self, path: str, entry: dict[str, Any]) -> list[Fault]:
        book = self.emu._faults
        for fault in book.take(self.command, path, stall=False):
            if fault.kind == "delay":
                time.sleep(fault.delay)
                continue
            if fault.kind == "throttle":
                self._throttle = fault.delay
                continue
            if fault.kind in AFTER_KINDS:
                self._after_fault = fault
                continue
            entry["answered"] = True
            entry["fault"] = fault.kind
            if fault.kind == "drop":
                length = self.content_length() or 0
                if length:
                    self.rfile.read(min(max(length // 2, 1), 64 * 1024))
                self.commit_log()
                self.drop()
                return []
            self.drain_body()
            headers: dict[str, str] = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            if fault.location is not None:
                headers["Location"] = fault.location
            if fault.kind == "status":
                status = fault.status or 502
                if fault.body is not None:
                    resp = Response(status, fault.body.encode(), fault.content_type or "text/html", headers)
                else:
                    resp = Response(status, nginx_page(status).encode(), "text/html", headers)
            elif fault.kind == "envelope":
                resp = Response(
                    fault.status or 200,
                    envelope(fault.code, fault.message, None),
                    "application/json",
                    headers,
                )
            else:  # empty
                resp = Response(200, b"", None, headers)
            entry["status"] = resp.status
            self.send(resp)
            return []
        return book.take(self.command, path, stall=True)

    def _api(self, api_path: str, query: str, entry: dict[str, Any], stalls: list[Fault]) -> None:
        body = self.read_body()
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        req = Request(
            self.command,
            api_path,
            parse_qs(query, keep_blank_values=True),
            self.header_dict(),
            body,
            host,
            self.headers.get("X-Forwarded-Proto") or "http",
        )
        req.stalls = stalls  # type: ignore[attr-defined]
        if not any(api_path.startswith(p) for p in OPEN_PATHS) and not self._authorized(req):
            resp = Response(401, UNAUTHORIZED, "application/json")
        else:
            resp = self._route(req)
        entry["status"] = resp.status
        self.send(resp)

    def _authorized(self, req: Request) -> bool:
        auth = self.headers.get("Authorization")
        token = None
        if auth and auth.startswith("Bearer "):
            pieces = auth.split(" ")
            token = pieces[1] if len(pieces) > 1 else ""
        if token is None:
            token = req.param("token")
        return token is not None and self.emu._token_valid(token)

    def _route(self, req: Request) -> Response:
        try:
            handler = self.emu._router.resolve(req)
            result = handler(self.emu, req)
            return result if isinstance(result, Response) else Response(200, envelope("OK", "", result))
        except ApiError as err:
            return error_response(err)
        except NotFound:
            data = {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime()),
                "status": 404,
                "error": "Not Found",
                "path": req.path,
            }
            return Response(404, envelope("OK", "", data))
        except Exception as exc:  # mirror Spring's catch-all handler
            return Response(500, envelope("UNKNOWN", f"java.lang.RuntimeException: {exc!r}", None))

    # ------------------------------------------------------------------------------------------- admin

    def _admin(self, path: str, query: str) -> None:
        body = self.read_body()
        emu = self.emu
        try:
            payload = json.loads(body) if body.strip() else {}
            if path == "/_emulator/faults" and self.command == "POST":
                faults = payload if isinstance(payload, list) else [payload]
                for raw in faults:
                    emu.inject(Fault.from_dict(raw))
                result: Any = {"faults": [f.to_dict() for f in emu._faults.active()]}
            elif path == "/_emulator/faults" and self.command == "DELETE":
                emu.clear_faults()
                result = {"faults": []}
            elif path == "/_emulator/faults" and self.command == "GET":
                result = {"faults": [f.to_dict() for f in emu._faults.active()]}
            elif path == "/_emulator/reset" and self.command == "POST":
                emu.reset(state=bool(payload.get("state", False)))
                result = {"reset": True}
            elif path == "/_emulator/request-log" and self.command == "GET":
                result = emu.request_log
            elif path == "/_emulator/storage-log" and self.command == "GET":
                result = emu.storage_log
            elif path == "/_emulator/stats" and self.command == "GET":
                result = emu.stats
            elif path == "/_emulator/stats/reset-peak" and self.command == "POST":
                emu.reset_scratch_peak()
                result = emu.stats
            elif path == "/_emulator/model-failures" and self.command == "POST":
                emu.set_model_failures(int(payload["modelId"]), payload.get("mode"))
                result = {"ok": True}
            elif path == "/_emulator/config" and self.command == "POST":
                if "stepDelay" in payload:
                    emu.step_delay = float(payload["stepDelay"])
                if "presignExpiry" in payload:
                    emu.presign_expiry = int(payload["presignExpiry"])
                result = {"stepDelay": emu.step_delay, "presignExpiry": emu.presign_expiry}
            elif (simulated := annotators.admin(emu, path, self.command, payload)) is not None:
                result = simulated
            else:
                self.send(Response(404, b'{"error":"unknown admin endpoint"}'))
                return
        except (ValueError, TypeError, KeyError) as exc:
            self.send(Response(400, json.dumps({"error": str(exc)}).encode()))
            return
        self.send(Response(200, json.dumps(result).encode()))


class _Throttled:
    """A request body read in 64 KiB pieces spread over ``seconds`` (a slow client or network)."""

    PIECE = 64 * 1024

    def __init__(self, raw: Any, seconds: float, length: int) -> None:
        self._raw = raw
        self._pause = seconds * self.PIECE / max(length, 1)

    def read(self, n: int) -> bytes:
        chunk = self._raw.read(min(n, self.PIECE))
        if chunk:
            time.sleep(self._pause * len(chunk) / self.PIECE)
        return chunk
