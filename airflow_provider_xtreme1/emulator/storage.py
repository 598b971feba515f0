"""Presigned object store behind ``/minio/`` (bucket ``xtreme1``), MinIO/rclone-like.

URLs carry ``X-Amz-*`` query parameters like a SigV4 presign. The signature is an HMAC over method,
object path, host, date, expiry and ``response-*`` overrides with a per-emulator secret, so changing
the method or path, tampering or letting it expire are all rejected as S3 would.

What is signed is what Xtreme1 deploys: the backend signs every URL for its MinIO endpoint
``http://minio:9000/`` and then rewrites that prefix to ``<proto>://<request Host>/minio/``
(adapter/port/minio/MinioService.java ``replaceUrl``). nginx's ``location /minio/`` proxies with
``proxy_pass http://minio:9000`` and no ``proxy_set_header Host`` (deploy/nginx/conf.d/default.conf),
so MinIO always sees ``Host: minio:9000``: a URL re-aimed at another name of the same front, or sent
with a forged ``Host``, still verifies. MinIO checks expiry before the signature, and the signature
covers the method (minio cmd/signature-v4.go ``doesPresignedSignatureMatch``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import mimetypes
import os
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import formatdate
from urllib.parse import parse_qs, quote, unquote, urlencode

from .api import Response
from .scratch import PutsInFlight

BUCKET = "xtreme1"
INTERNAL_HOST = "minio:9000"
CHUNK = 1024 * 1024
ACCESS_KEY = "minioadmin"
REGION = "us-east-1"


def s3_error_xml(code: str, message: str, resource: str) -> bytes:
    """An S3-style XML error document."""
    request_id = uuid.uuid4().hex[:16].upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><Key>{_xml(resource)}</Key>"
        f"<BucketName>{BUCKET}</BucketName><Resource>{_xml(resource)}</Resource>"
        f"<RequestId>{request_id}</RequestId><HostId>emulator</HostId></Error>"
    ).encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class StorageError(Exception):
    """A storage request refused with an S3 error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Signer:
    """Creates and checks presigned URLs bound to method, key, host and expiry."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _signature(
        self, method: str, key: str, host: str, amz_date: str, expires: str, extra: Mapping[str, str]
    ) -> str:
        parts = [method.upper(), f"/{BUCKET}/{key}", host.lower(), amz_date, expires]
        parts += [f"{k}={extra[k]}" for k in sorted(extra)]
        return hmac.new(self._secret, "\n".join(parts).encode(), hashlib.sha256).hexdigest()

    def presign(
        self,
        method: str,
        key: str,
        host: str,
        expires: int,
        *,
        scheme: str = "http",
        prefix: str = "/minio",
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """Return ``<scheme>://<host><prefix>/xtreme1/<key>?X-Amz-...`` valid for ``expires`` seconds."""
        extra = dict(extra or {})
        now = datetime.now(timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        query = dict(extra)
        query.update(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Credential": f"{ACCESS_KEY}/{now:%Y%m%d}/{REGION}/s3/aws4_request",
                "X-Amz-Date": amz_date,
                "X-Amz-Expires": str(int(expires)),
                "X-Amz-SignedHeaders": "host",
            }
        )
        signature = self._signature(method, key, INTERNAL_HOST, amz_date, str(int(expires)), extra)
        query["X-Amz-Signature"] = signature
        return (
            f"{scheme}://{host}{prefix}/{BUCKET}/{quote(key, safe='/')}?{urlencode(query, quote_via=quote)}"
        )

    def check(
        self, method: str, key: str, host: str, query: Mapping[str, str], *, now: float | None = None
    ) -> None:
        """Raise :class:`StorageError` unless the presigned query is valid for this request."""
        needed = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature")
        if any(n not in query for n in needed):
            raise StorageError(403, "AccessDenied", "Access Denied.")
        if query["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            raise StorageError(
                400, "AuthorizationQueryParametersError", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'
            )
        try:
            signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            expires = int(query["X-Amz-Expires"])
        except ValueError as exc:
            raise StorageError(403, "AuthorizationQueryParametersError", "Invalid X-Amz-Date") from exc
        current = time.time() if now is None else now
        if current > signed_at.timestamp() + expires:
            raise StorageError(403, "AccessDenied", "Request has expired")
        extra = {k: v for k, v in query.items() if k.startswith("response-")}
        expected = self._signature(method, key, host, query["X-Amz-Date"], query["X-Amz-Expires"], extra)
        if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
            raise StorageError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method.",
            )


class ObjectStore:
    """Objects as files under ``<root>/objects/<key>``; uploads stream through ``<root>/tmp``."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.objects = os.path.join(root, "objects")
        self.tmp = os.path.join(root, "tmp")
        os.makedirs(self.objects, exist_ok=True)
        os.makedirs(self.tmp, exist_ok=True)

    def path(self, key: str) -> str:
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise StorageError(400, "InvalidArgument", "Invalid object name")
        return os.path.join(self.objects, *parts)

    def exists(self, key: str) -> bool:
        try:
            return os.path.isfile(self.path(key))
        except StorageError:
            return False

    def size(self, key: str) -> int:
        return os.path.getsize(self.path(key))

    def _temp(self) -> str:
        return os.path.join(self.tmp, uuid.uuid4().hex)

    def put_stream(self, key: str, stream, length: int, progress=None) -> tuple[str | None, int]:
        """Copy exactly ``length`` bytes from ``stream`` into ``key``; return ``(md5 hex, bytes read)``,
        with ``None`` (and nothing stored) when the stream ends early. ``progress`` is told the bytes
        read so far after each chunk."""
        target = self.path(key)
        temp = self._temp()
        md5 = hashlib.md5()
        remaining = length
        try:
            with open(temp, "wb") as out:
                while remaining > 0:
                    try:
                        chunk = stream.read(min(CHUNK, remaining))
                    except OSError:
                        chunk = b""
                    if not chunk:
                        break
                    md5.update(chunk)
                    out.write(chunk)
                    remaining -= len(chunk)
                    if progress:
                        progress(length - remaining)
            if remaining:
                os.unlink(temp)
                return None, length - remaining
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(temp, target)
            return md5.hexdigest(), length
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self.path(key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        temp = self._temp()
        with open(temp, "wb") as out:
            out.write(data)
        os.replace(temp, target)

    def put_file(self, key: str, source: str) -> None:
        target = self.path(key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        temp = self._temp()
        shutil.copyfile(source, temp)
        os.replace(temp, target)

    def copy_to(self, key: str, dest: str, progress=None) -> int:
        """Copy object ``key`` to the local file ``dest`` in 1 MiB chunks; return the byte count."""
        done = 0
        with open(self.path(key), "rb") as src, open(dest, "wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done)
        return done

    def wipe(self) -> None:
        shutil.rmtree(self.objects, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.makedirs(self.objects, exist_ok=True)
        os.makedirs(self.tmp, exist_ok=True)


class StorageFront:
    """Serves ``/minio/<bucket>/<key>`` requests with S3-style checks and errors."""

    ONE_AUTH = (
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
        "query string parameter or the Authorization header should be specified"
    )

    def __init__(self, store: ObjectStore, signer: Signer) -> None:
        self.store = store
        self.signer = signer
        self.etags: dict[str, str] = {}
        self.puts = PutsInFlight()

    def handle(self, h, path: str, raw_query: str, entry: dict) -> None:
        key_path = unquote(path).lstrip("/")
        bucket, _, key = key_path.partition("/")
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        method = h.command
        try:
            if bucket != BUCKET:
                raise StorageError(404, "NoSuchBucket", "The specified bucket does not exist")
            if not key:
                raise StorageError(403, "AccessDenied", "Access Denied.")
            presigned = any(k.startswith("X-Amz-") for k in query)
            if presigned and h.headers.get("Authorization") is not None:
                raise StorageError(400, "InvalidArgument", self.ONE_AUTH)
            if presigned:
                # Behind nginx MinIO sees Host: minio:9000 whatever the client sent (module docstring).
                self.signer.check(method, key, INTERNAL_HOST, query)
            elif method not in ("GET", "HEAD") or h.headers.get("Authorization") is not None:
                raise StorageError(403, "AccessDenied", "Access Denied.")
            if method == "PUT":
                self._put(h, key, entry)
            elif method in ("GET", "HEAD"):
                self._get(h, key, query, entry)
            else:
                raise StorageError(
                    405, "MethodNotAllowed", "The specified method is not allowed against this resource."
                )
        except StorageError as err:
            if method == "PUT" and err.status != 411:
                h.drain_body()
            elif err.status == 411:
                h.close_connection = True
            entry["status"] = err.status
            body = b"" if method == "HEAD" else s3_error_xml(err.code, err.message, f"/{bucket}/{key}")
            h.send(Response(err.status, body, "application/xml"))

    def _put(self, h, key: str, entry: dict) -> None:
        length = h.content_length()
        if length is None:
            raise StorageError(
                411, "MissingContentLength", "You must provide the Content-Length HTTP header."
            )
        self.store.path(key)
        token = self.puts.begin(key, length)
        try:
            md5, received = self.store.put_stream(
                key, h.body_reader(), length, lambda n: self.puts.progress(token, n)
            )
        finally:
            self.puts.end(token)
        entry["bytes"] = received
        if md5 is None:
            entry["status"] = 400
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.send(
                    Response(
                        400,
                        s3_error_xml(
                            "IncompleteBody",
                            "You did not provide the number of bytes "
                            "specified by the Content-Length HTTP header.",
                            f"/{BUCKET}/{key}",
                        ),
                        "application/xml",
                    )
                )
            return
        self.etags[key] = md5
        entry["status"] = 200
        h.send(Response(200, b"", None, {"ETag": f'"{md5}"'}))

    def _get(self, h, key: str, query: dict, entry: dict) -> None:
        if not self.store.exists(key):
            raise StorageError(404, "NoSuchKey", "The specified key does not exist.")
        path = self.store.path(key)
        size = os.path.getsize(path)
        start, end, status = 0, size - 1, 200
        rng = h.headers.get("Range")
        if rng:
            m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", rng)
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:
                    start = max(size - int(m.group(2)), 0)
                if start >= size or start > end:
                    raise StorageError(416, "InvalidRange", "The requested range is not satisfiable")
                status = 206
        ctype = (
            query.get("response-content-type") or mimetypes.guess_type(key)[0] or "application/octet-stream"
        )
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(end - start + 1))
        h.send_header("Accept-Ranges", "bytes")
        h.send_header("Last-Modified", formatdate(os.path.getmtime(path), usegmt=True))
        if key in self.etags:
            h.send_header("ETag", f'"{self.etags[key]}"')
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        entry["status"] = status
        h.commit_log()
        h.end_headers()
        if h.command == "HEAD":
            return
        remaining = end - start + 1
        with open(path, "rb") as fh:
            fh.seek(start)
            while remaining > 0:
                chunk = fh.read(min(CHUNK, remaining))
                if not chunk:
                    break
                entry["bytes"] += len(chunk)
                h.wfile.write(chunk)
                remaining -= len(chunk)
