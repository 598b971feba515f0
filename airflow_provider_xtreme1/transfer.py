"""Streaming transfers to and from presigned object-storage URLs (MinIO, S3 and compatibles).

This is the only module that talks to presigned URLs. It uses a bare :class:`httpx.Client` per
transfer: no ``Authorization`` header, no API token, no cookies carried over, redirects not followed;
``trust_env`` stays on so ``HTTP(S)_PROXY`` / ``NO_PROXY`` (and ``SSL_CERT_FILE``) apply. httpx 0.28
does not read ``~/.netrc``, so no credentials can come from the environment either.

Rules it follows (S3 and MinIO refuse requests that break them):

* the URL is used exactly as given: no host rewrite, no ``Host`` override, no extra ``x-amz-*``
  header (MinIO presigns sign only ``host``);
* every PUT carries ``Content-Length`` and never ``Transfer-Encoding: chunked`` (S3, MinIO and rclone
  answer 411 to chunked uploads);
* bodies are streamed in 1 MiB chunks, so memory stays flat whatever the size;
* the upload's MD5 (for the ETag check) is computed on a helper thread, overlapping with sending;
* a retry re-opens the source and resends the whole body; a body shorter than announced is never a
  success.

Upload sources (see :func:`as_source`): a local file, an ``ObjectStoragePath`` (or any fsspec/UPath-like
object with ``open("rb")`` and ``stat()``), or a *planned zip*: any object with ``size`` and
``iter_bytes(chunk_size)``, such as the plan returned by ``packing.plan_zip``.

URLs in log lines are masked with :func:`mask_url`. Importing this module adds a filter to the
``httpx`` logger that masks presigned signatures in its ``HTTP Request: ...`` lines too.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import random
import re
import secrets
import ssl
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO, Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import unquote, urlsplit

import httpx

from airflow_provider_xtreme1 import __version__
from airflow_provider_xtreme1._responses import parse_retry_after, snippet
from airflow_provider_xtreme1._tls import ssl_context
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1StorageError,
    Xtreme1UrlExpiredError,
    Xtreme1ValidationError,
)

__all__ = [
    "CHUNK_SIZE",
    "DownloadResult",
    "UploadResult",
    "UploadSource",
    "as_source",
    "check_local_path",
    "check_verify",
    "download",
    "mask_url",
    "object_storage_schemes",
    "protect_url",
    "resolve_location",
    "upload",
]

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
"""Bytes per read/write: 1 MiB (httpx with a 1 MiB generator was the fastest client measured)."""

CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 300.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF = 30.0
#: Longest ``Retry-After`` (of a 429 or 503) waited for; a longer one is cut to this.
MAX_RETRY_AFTER = 120.0
_ERROR_BODY_LIMIT = 64 * 1024
_SECRET_PARAMS = frozenset(
    {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "token", "signature"}
)
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
_USER_AGENT = f"airflow-provider-xtreme1/{__version__} (presigned transfer)"

T = TypeVar("T")


# --------------------------------------------------------------------------------------------------
# URL masking


def mask_url(url: str) -> str:
    """Return ``url`` with the values of its secret query parameters replaced by ``***``.

    Masked parameters (case-insensitive): ``X-Amz-Signature``, ``X-Amz-Credential``,
    ``X-Amz-Security-Token``, ``token`` and ``signature``. Everything else is left byte for byte.
    """
    base, sep, rest = str(url).partition("?")
    if not sep:
        return base
    query, hash_sep, fragment = rest.partition("#")
    parts = []
    for part in query.split("&"):
        key, eq, _value = part.partition("=")
        if eq and unquote(key).lower() in _SECRET_PARAMS:
            part = f"{key}=***"
        parts.append(part)
    return f"{base}?{'&'.join(parts)}{hash_sep}{fragment}"


def _secret_values(url: str) -> list[str]:
    values: list[str] = []
    for part in urlsplit(str(url)).query.split("&"):
        key, eq, value = part.partition("=")
        if eq and value and unquote(key).lower() in _SECRET_PARAMS:
            values.append(value)
            if unquote(value) != value:
                values.append(unquote(value))
    return values


def protect_url(url: str) -> None:
    """Register the secret query values of ``url`` with Airflow's secret masker.

    After this, Airflow task logs show ``***`` wherever a signature, credential or token of this URL
    appears, whoever logs it. Outside an Airflow installation this is a no-op (with a debug line).
    """
    values = [v for v in _secret_values(url) if len(v) >= 5]  # the masker ignores shorter values
    if not values:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow is a dependency; kept for bare use of the module
        log.debug("airflow.sdk.log.mask_secret is unavailable; presigned URL secrets not registered")
        return
    for value in values:
        mask_secret(value)


class _MaskPresignedUrls(logging.Filter):
    """Masks presigned-URL secrets in the arguments of ``httpx`` log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                mask_url(str(arg)) if isinstance(arg, (str, httpx.URL)) and "?" in str(arg) else arg
                for arg in record.args
            )
        return True


if not any(isinstance(f, _MaskPresignedUrls) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_MaskPresignedUrls())


class LoggerLike(Protocol):
    """A ``logging.Logger`` or Airflow's structlog task logger (``%``-style arguments)."""

    def info(self, msg: str, *args: Any) -> Any: ...

    def warning(self, msg: str, *args: Any) -> Any: ...


# --------------------------------------------------------------------------------------------------
# Locations: the one resolver of "local path or object storage", and the TLS argument

#: Schemes that are web requests, never object storage: refused as sources and destinations.
_WEB_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "ws", "wss", "data"})
_LOCAL_SCHEMES = frozenset({"file", "local"})
_PATH_MAX = 4095  # bytes, Linux PATH_MAX less the terminating NUL
_NAME_MAX = 255


def object_storage_schemes() -> frozenset[str]:
    """The URI schemes Airflow's ``ObjectStoragePath`` can open here (those the installed providers
    register, e.g. ``s3`` with the Amazon provider, and those attached at run time with
    ``airflow.sdk.io.attach``), without the local and web ones."""
    known: set[str] = set()
    try:
        from airflow.sdk.io.fs import _register_filesystems

        known.update(_register_filesystems())
    except Exception:  # an Airflow without the registry: nothing but local paths
        pass
    try:
        from airflow.sdk.io.store import _STORE_CACHE

        known.update(store.protocol for store in list(_STORE_CACHE.values()) if store.protocol)
    except Exception:
        pass
    return frozenset(known - _LOCAL_SCHEMES - _WEB_SCHEMES)


def check_local_path(path: str | os.PathLike[str], argument: str) -> Path:
    """``path`` as a ``Path``, or a ``ValueError`` naming ``argument`` when no file system could hold it
    (NUL or other control characters, a part over 255 bytes, more than 4095 bytes in all)."""
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text.strip():
        raise ValueError(f"{argument} must not be empty.")
    bad = next((ch for ch in text if ord(ch) < 32 or ord(ch) == 127), None)
    if bad is not None:
        raise ValueError(f"{argument} contains the control character {bad!r}: {text!r}.")
    expanded = Path(text).expanduser()
    long = next((part for part in expanded.parts if len(os.fsencode(part)) > _NAME_MAX), None)
    if long is not None:
        raise ValueError(
            f"{argument} has a path part of {len(os.fsencode(long))} bytes (at most {_NAME_MAX}): "
            f"{long[:40]!r}…"
        )
    if len(os.fsencode(str(expanded))) > _PATH_MAX:
        raise ValueError(f"{argument} is {len(os.fsencode(str(expanded)))} bytes long (at most {_PATH_MAX}).")
    return expanded


def resolve_location(value: Any, argument: str) -> Any:
    """Decide once whether ``value`` is local or in object storage, and check it.

    A plain path, ``os.PathLike`` or ``file://`` URI (also an ``ObjectStoragePath`` on the local file
    system) becomes a checked :class:`~pathlib.Path` — so every local rule applies to it. A URI of an
    object-storage scheme Airflow knows (:func:`object_storage_schemes`) becomes an
    ``ObjectStoragePath``; any other scheme (``http``, ``https``, …) is refused before any request.
    Other objects with ``open`` (``ObjectStoragePath``, UPath) are returned as they are.

    :param argument: the argument's name, for error messages.
    :raises ValueError: naming ``argument`` and what was expected.
    """
    if isinstance(value, PurePath):
        return check_local_path(value, argument)
    if isinstance(value, str):
        parts = urlsplit(value.strip())
        scheme = parts.scheme.lower()
        if "://" not in value or len(scheme) <= 1:  # "C:\data" has a one-letter scheme
            return check_local_path(value, argument)
        if scheme in _LOCAL_SCHEMES:
            if parts.netloc not in ("", "localhost"):
                raise ValueError(f"{argument}: a file:// URI names a local path, not host {parts.netloc!r}.")
            return check_local_path(unquote(parts.path), argument)
        allowed = object_storage_schemes()
        if scheme not in allowed:
            why = "a web URL, not object storage" if scheme in _WEB_SCHEMES else "not a storage Airflow knows"
            stores = ", ".join(f"{s}://" for s in sorted(allowed)) or "(no object-storage provider installed)"
            shown = f"{scheme}://{parts.hostname or ''}{parts.path}"  # no user info, no query
            raise ValueError(
                f"{argument} {shown!r}: {scheme}:// is {why}. Give a local path, a "
                f"file:// URI or a URI of: {stores}."
            )
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(value.strip())
    if isinstance(value, os.PathLike):
        return check_local_path(value, argument)
    if hasattr(value, "open") and hasattr(value, "exists"):
        protocol = getattr(value, "protocol", None)
        protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
        if protocol in _LOCAL_SCHEMES:
            return check_local_path(str(value.path), argument)
        return value
    raise ValueError(f"{argument} must be a path, a URI or an ObjectStoragePath, got {value!r}.")


def check_verify(verify: Any, argument: str = "verify") -> Any:
    """TLS verification as given by a user or a rendered param: ``True``/``False`` (also the strings
    ``"true"``, ``"false"``, ``"0"``, …), an existing CA-bundle file or folder, or an ``ssl.SSLContext``.

    :raises ValueError: naming ``argument``: a CA bundle that does not exist, or an unusable value.
    """
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    if isinstance(verify, str) and verify.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(verify, str) and verify.strip().lower() in ("false", "no", "off", "0"):
        return False
    if isinstance(verify, (str, os.PathLike)):
        path = check_local_path(verify, argument)
        if not path.exists():
            raise ValueError(f"{argument}: the CA bundle {str(path)!r} does not exist on this machine.")
        return str(path)
    raise ValueError(f"{argument} must be True, False or the path of a CA bundle, got {verify!r}.")


# --------------------------------------------------------------------------------------------------
# Sources


@runtime_checkable
class UploadSource(Protocol):
    """Something :func:`upload` can send: a name, an exact size, and a re-openable chunk stream."""

    name: str
    size: int

    def open_chunks(self) -> Iterator[bytes]:
        """Yield the whole content from the start, in chunks of at most 1 MiB (new stream each call)."""
        ...


class FileSource:
    """A local file, read in 1 MiB chunks."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = self.path.name
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise Xtreme1ValidationError(f"Upload source {self.path} does not exist.") from None
        if self.path.is_dir():
            raise Xtreme1ValidationError(
                f"Upload source {self.path} is a directory, not a file: pack it into a zip first "
                "(packing.plan_zip) or pass the archive."
            )
        if info.st_size == 0:
            raise Xtreme1ValidationError(f"Upload source {self.path} is empty (0 bytes).")
        self.size = info.st_size

    def open_chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as handle:
            yield from _read_chunks(handle)

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, size={self.size})"


class ObjectStorageSource:
    """An ``ObjectStoragePath`` / fsspec / UPath-like object, streamed without a local copy."""

    def __init__(self, path: Any) -> None:
        self.path = path
        self.name = getattr(path, "name", "") or str(path).rstrip("/").rsplit("/", 1)[-1]
        try:
            exists = path.exists()
        except Exception:  # some stores cannot answer exists(); stat() below decides
            exists = True
        if not exists:
            raise Xtreme1ValidationError(f"Upload source {path} does not exist.")
        if _call_quietly(path, "is_dir"):
            raise Xtreme1ValidationError(
                f"Upload source {path} is a directory, not a file: pack it into a zip first or pass the "
                "archive."
            )
        try:
            size = _stat_size(path.stat())
        except FileNotFoundError:
            raise Xtreme1ValidationError(f"Upload source {path} does not exist.") from None
        if size is None:
            raise Xtreme1ValidationError(f"Upload source {path}: its store does not report a size.")
        if size == 0:
            raise Xtreme1ValidationError(f"Upload source {path} is empty (0 bytes).")
        self.size = size

    def open_chunks(self) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            yield from _read_chunks(handle)

    def __repr__(self) -> str:
        return f"ObjectStorageSource({str(self.path)!r}, size={self.size})"


class PlannedZipSource:
    """A zip planned in advance (exact ``size`` known) and produced on the fly by ``iter_bytes``."""

    def __init__(self, plan: Any, name: str | None = None) -> None:
        self.plan = plan
        top = getattr(plan, "top_folder", None)
        self.name = name or str(getattr(plan, "name", None) or (f"{top}.zip" if top else "archive.zip"))
        size = int(plan.size)
        if size <= 0:
            raise Xtreme1ValidationError(f"Planned archive {self.name} is empty (size {size}).")
        self.size = size

    def open_chunks(self) -> Iterator[bytes]:
        yield from self.plan.iter_bytes(CHUNK_SIZE)

    def __repr__(self) -> str:
        return f"PlannedZipSource({self.name!r}, size={self.size})"


def as_source(obj: Any) -> UploadSource:
    """Turn ``obj`` into an :class:`UploadSource`, validating it before any byte is sent.

    :param obj: one of

        * an :class:`UploadSource` (returned unchanged);
        * a planned zip: any object with ``size`` and ``iter_bytes(chunk_size)``;
        * a local path (``str``, ``os.PathLike`` or a ``file://`` URI); a URI of an object store Airflow
          knows (``s3://...``) becomes an ``airflow.sdk.ObjectStoragePath``; other schemes (``http://``)
          are refused (:func:`resolve_location`);
        * an ``ObjectStoragePath`` or any fsspec/UPath-like object with ``open("rb")`` and ``stat()``.
    :raises Xtreme1ValidationError: the file is missing, a directory, or empty (the message names it).
    :raises Xtreme1ConfigError: ``obj`` is none of the above, or a refused URI.
    """
    if isinstance(obj, (FileSource, ObjectStorageSource, PlannedZipSource)):
        return obj
    if isinstance(obj, UploadSource):
        if not isinstance(obj.size, int) or obj.size <= 0:
            raise Xtreme1ValidationError(
                f"Upload source {obj.name}: size must be a positive int, not {obj.size!r}."
            )
        return obj
    if hasattr(obj, "iter_bytes") and hasattr(obj, "size"):
        return PlannedZipSource(obj)
    if hasattr(obj, "open") and hasattr(obj, "stat") and not isinstance(obj, PurePath):
        return ObjectStorageSource(obj)
    if isinstance(obj, (str, os.PathLike)):
        try:
            where = resolve_location(obj, "source")
        except ValueError as err:
            raise Xtreme1ConfigError(str(err)) from None
        return FileSource(where) if isinstance(where, Path) else ObjectStorageSource(where)
    raise Xtreme1ConfigError(
        f"Cannot upload {obj!r}: expected a file path, an ObjectStoragePath or a planned zip "
        "(an object with size and iter_bytes)."
    )


def _read_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK_SIZE):
        yield chunk


def _stat_size(info: Any) -> int | None:
    size = getattr(info, "st_size", None)
    if size is None and isinstance(info, dict):
        size = info.get("size")
    return None if size is None else int(size)


def _call_quietly(obj: Any, method: str) -> bool:
    try:
        return bool(getattr(obj, method)())
    except Exception:
        return False


# --------------------------------------------------------------------------------------------------
# Results, progress, errors


@dataclass(frozen=True)
class UploadResult:
    """What :func:`upload` sent.

    :param bytes: body size sent (equals the source size).
    :param seconds: wall time of the successful attempt.
    :param etag: the ETag the store returned (quotes stripped), or ``None``.
    :param md5: hex MD5 of the bytes sent, or ``None`` when ``checksum=False``.
    :param attempts: number of attempts made (1 = no retry).
    """

    bytes: int
    seconds: float
    etag: str | None
    md5: str | None
    attempts: int


@dataclass(frozen=True)
class DownloadResult:
    """What :func:`download` stored.

    :param uri: the destination (a local path, or the URI of an ``ObjectStoragePath``).
    :param bytes: bytes written.
    :param seconds: wall time of the successful attempt.
    """

    uri: str
    bytes: int
    seconds: float


class _Progress:
    """Logs ``done / total`` with percentage, rate and ETA at most every ``interval`` seconds."""

    def __init__(self, logger: LoggerLike, verb: str, total: int | None, interval: float, where: str):
        self.logger, self.verb, self.total, self.interval, self.where = logger, verb, total, interval, where
        self.start = self.last = time.monotonic()
        self.done = 0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.interval >= 0 and now - self.last >= self.interval:
            self.last = now
            self.logger.info("%s %s", self.verb, self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.start, 1e-9)
        rate = self.done / elapsed
        text = f"{_size(self.done)}"
        if self.total:
            text += f" / {_size(self.total)} ({100.0 * self.done / self.total:.1f}%)"
        text += f", {rate / 1e6:.1f} MB/s"
        if self.total and rate > 0:
            text += f", ETA {_duration(max(self.total - self.done, 0) / rate)}"
        return f"{text} ({self.where})"


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _s3_error(body: bytes) -> tuple[str | None, str | None]:
    """``(Code, Message)`` of an S3 XML error document, or ``(None, None)``."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, None
    return root.findtext("Code"), root.findtext("Message")


class _Transient(Exception):
    """An attempt failed in a way worth retrying."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        storage_code: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.storage_code = storage_code
        self.retry_after = retry_after


def _refusal(action: str, response: httpx.Response, masked: str, *, renew: str) -> Exception:
    """The error for a non-2xx answer: ``_Transient`` for 429 and 5xx, otherwise a storage error."""
    body = b""
    with contextlib.suppress(httpx.HTTPError):
        for piece in response.iter_raw():
            body += piece
            if len(body) >= _ERROR_BODY_LIMIT:
                break
    code, message = _s3_error(body)
    status = response.status_code
    detail = f"{code}: {message}" if code else (snippet(body) or "(empty body)")  # a proxy's HTML page
    if status in RETRY_STATUSES:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return _Transient(f"HTTP {status} {detail}", status=status, storage_code=code, retry_after=wait)
    expired = status == 403 or (
        status == 400 and code == "AccessDenied" and "time" in (message or "").lower()
    )  # rclone answers an expired presign with 400 AccessDenied "...request time and the server's time..."
    if expired:
        return Xtreme1UrlExpiredError(
            f"{action} refused with HTTP {status} ({detail}): the presigned URL expired or its signature no "
            f"longer matches (was it changed?). {renew} URL: {masked}",
            status=status,
            storage_code=code,
        )
    if 300 <= status < 400:
        where = urlsplit(response.headers.get("Location") or "")
        target = f"{where.scheme}://{where.hostname}{where.path}" if where.hostname else where.path or "?"
        return Xtreme1StorageError(
            f"{action} refused with HTTP {status}: storage redirects to {target} (host "
            f"{where.hostname or 'the same'}); presigned transfers never follow redirects, since the URL is "
            f"signed for one host. URL: {masked}",
            status=status,
            storage_code=code,
        )
    return Xtreme1StorageError(
        f"{action} refused with HTTP {status}: {detail}. URL: {masked}", status=status, storage_code=code
    )


def _check_url(url: str) -> str:
    if not isinstance(url, str):
        url = str(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Xtreme1ConfigError(f"Not an http(s) URL: {mask_url(url)}")
    if parts.username or parts.password:
        raise Xtreme1ConfigError(f"Presigned URLs carry no user info; refusing {mask_url(url)}")
    return url


def _client(url: str, timeout: float, verify: Any) -> httpx.Client:
    if isinstance(verify, (bool, str, os.PathLike)) and not _may_use_tls(url):
        # No TLS will be negotiated: skip loading a CA bundle (20-40 ms of CPU), as curl does.
        verify = False
    elif isinstance(verify, (bool, str, os.PathLike)):
        verify = ssl_context(os.fspath(verify) if isinstance(verify, os.PathLike) else verify)
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
        verify=verify,
        trust_env=True,
        follow_redirects=False,
        headers={"User-Agent": _USER_AGENT},
    )


def _may_use_tls(url: str) -> bool:
    """Whether a request to ``url`` may use TLS: an https URL, or an https proxy from the environment
    for http URLs (``HTTP_PROXY`` / ``ALL_PROXY``, which httpx applies with ``trust_env``)."""
    if urlsplit(url).scheme != "http":
        return True
    proxies = urllib.request.getproxies()
    return any(str(proxies.get(key) or "").lower().startswith("https:") for key in ("http", "all"))


def _backoff(attempt: int, base: float) -> float:
    delay = min(base * 2 ** (attempt - 1), MAX_BACKOFF)
    return delay * (0.8 + 0.4 * random.random())


def _transport_failure(exc: httpx.TransportError, masked: str) -> Exception:
    """``_Transient`` for network failures; a storage error for a certificate that fails verification,
    which no retry can fix."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    if cause is not None or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return Xtreme1StorageError(
            f"TLS certificate check of the storage endpoint failed ({cause or exc}). Pass verify= the path "
            f"of the CA bundle that signed it (or verify=False for a trusted network). URL: {masked}"
        )
    return _Transient(f"{type(exc).__name__}: {exc}")


def _retry_delay(exc: _Transient, attempt: int, base: float) -> float:
    """The store's ``Retry-After`` (bounded) when it sent one, else the exponential backoff."""
    if exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER)
    return _backoff(attempt, base)


# --------------------------------------------------------------------------------------------------
# Upload


class _SourceSizeError(Exception):
    """The source produced a different number of bytes than its declared size."""


class _Md5Pipe:
    """MD5 of the chunks passed to :meth:`update`, computed on a helper thread, in order.

    ``hashlib`` releases the GIL while hashing buffers of 2 KiB and more, so hashing chunk *n* runs while
    chunk *n* is being sent: an upload then goes at the pace of the slower of the two (MD5 does about
    600 MB/s on one core) instead of their combined time. At most ``depth`` chunks wait for the hasher,
    which keeps memory flat.
    """

    def __init__(self, depth: int = 4) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="xtreme1-upload-md5", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._md5.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def close(self) -> None:
        """Stop the helper once it has hashed every chunk given so far (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.close()
        return self._md5.hexdigest()


def upload(
    url: str,
    source: Any,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_retries: int = 3,
    verify: bool | str | Any = True,
    progress_interval: float = 5.0,
    logger: LoggerLike | None = None,
    checksum: bool = True,
    backoff: float = 1.0,
) -> UploadResult:
    """PUT ``source`` as the raw body of a presigned URL, with ``Content-Length``, in 1 MiB chunks.

    :param url: the presigned PUT URL, used exactly as given (e.g. ``presignedUrl`` of GetUploadUrl).
    :param source: a local path, an ``ObjectStoragePath``, a planned zip or an :class:`UploadSource`
        (see :func:`as_source`); validated before any byte is sent.
    :param timeout: seconds allowed for each read or write on the socket (connect: 10 s).
    :param max_retries: retries after a connection error, a dropped connection, HTTP 500/502/503/504 or
        429 (after its ``Retry-After``); every retry re-opens the source and resends the full body.
    :param verify: TLS verification: ``True``, ``False``, a CA bundle path or an ``ssl.SSLContext``.
    :param progress_interval: seconds between progress log lines (negative: none).
    :param logger: where to log: a ``logging.Logger`` or a task's ``self.log`` (default: this module's).
    :param checksum: hash the body while sending and compare it with the returned ETag when that is a
        plain MD5 (single-part uploads on MinIO and S3 without KMS).
    :param backoff: first retry delay in seconds, doubled per retry (capped at 30 s, ±20 % jitter).
    :return: an :class:`UploadResult`.
    :raises Xtreme1ValidationError: the source is missing, a directory or empty.
    :raises Xtreme1UrlExpiredError: storage answered 403: the URL expired or its signature broke.
    :raises Xtreme1StorageError: any other refusal, retries exhausted, a short body, or an ETag that does
        not match the bytes sent.
    """
    logger = logger or log
    url = _check_url(url)
    verify = check_verify(verify)
    src = as_source(source)
    masked = mask_url(url)
    protect_url(url)
    logger.info("Uploading %s (%s) to %s", src.name, _size(src.size), masked)
    (seconds, etag, md5), attempt = _with_retries(
        lambda: _upload_once(url, src, masked, timeout, verify, progress_interval, logger, checksum),
        what=f"Upload of {src.name} to {masked}",
        on_retry="resending the whole body",
        max_retries=max_retries,
        backoff=backoff,
        logger=logger,
    )
    logger.info(
        "Uploaded %s: %s in %.1fs (%.1f MB/s), ETag %s, attempt %d",
        src.name,
        _size(src.size),
        seconds,
        src.size / max(seconds, 1e-9) / 1e6,
        etag,
        attempt,
    )
    return UploadResult(bytes=src.size, seconds=seconds, etag=etag, md5=md5, attempts=attempt)


def _with_retries(
    attempt_once: Callable[[], T],
    *,
    what: str,
    on_retry: str,
    max_retries: int,
    backoff: float,
    logger: Any,
) -> tuple[T, int]:
    """Run one transfer attempt until it succeeds; transient failures are retried from the start.

    Returns the attempt's result and how many attempts it took.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return attempt_once(), attempt
        except _Transient as exc:
            if attempt > max_retries:
                raise Xtreme1StorageError(
                    f"{what} failed after {attempt} attempts: {exc}",
                    status=exc.status,
                    storage_code=exc.storage_code,
                ) from exc
            delay = _retry_delay(exc, attempt, backoff)
            logger.warning("%s: attempt %d failed (%s); %s in %.1fs", what, attempt, exc, on_retry, delay)
            time.sleep(delay)


def _upload_once(
    url: str,
    src: UploadSource,
    masked: str,
    timeout: float,
    verify: Any,
    progress_interval: float,
    logger: LoggerLike,
    checksum: bool,
) -> tuple[float, str | None, str | None]:
    size = src.size
    digest = _Md5Pipe() if checksum else None
    progress = _Progress(logger, "Uploaded", size, progress_interval, src.name)
    state = {"complete": False}

    def body() -> Iterator[bytes]:
        # One chunk of read-ahead: the last chunk is only sent once the source is known to end exactly at
        # ``size``, so a source that changed size never delivers a complete (storable) body.
        chunks = iter(src.open_chunks())
        try:
            pending = _next_chunk(chunks)
            if pending is None:
                raise _SourceSizeError(f"0 bytes instead of the declared {size}")
            while pending is not None:
                following = _next_chunk(chunks)
                ahead = progress.done + len(pending)
                if ahead > size or (following is not None and ahead == size):
                    raise _SourceSizeError(f"more than the declared {size} bytes")
                if following is None and ahead != size:
                    raise _SourceSizeError(f"{ahead} bytes instead of the declared {size}")
                if digest is not None:
                    digest.update(pending)
                yield pending
                progress.add(len(pending))
                pending = following
            state["complete"] = progress.done == size
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()

    stream = body()
    started = time.monotonic()
    try:
        with _client(url, timeout, verify) as client:
            request = client.build_request("PUT", url, content=stream, headers={"Content-Length": str(size)})
            # With an explicit Content-Length httpx frames the iterator by length, never chunked.
            request.headers.pop("Transfer-Encoding", None)
            with _send(client, request) as response:
                if not 200 <= response.status_code < 300:
                    raise _refusal(
                        "Upload", response, masked, renew="Request a new upload URL (GetUploadUrl)."
                    )
                etag = (response.headers.get("ETag") or "").strip().strip('"') or None
                response.read()
    except _SourceSizeError as exc:
        raise Xtreme1StorageError(
            f"Upload source {src.name} produced {exc} (did it change during the upload?). The body was "
            f"cut short of its Content-Length, so the store keeps nothing from it: {masked}"
        ) from None
    except httpx.TimeoutException as exc:
        raise _Transient(f"timeout ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise _transport_failure(exc, masked) from exc
    finally:
        stream.close()
        if digest is not None:
            digest.close()
    seconds = time.monotonic() - started
    if not state["complete"]:
        # The store answered 2xx before our whole body was sent: never report that as success.
        raise _Transient(f"store answered before the full body was sent ({progress.done} of {size} bytes)")
    md5 = digest.hexdigest() if digest is not None else None
    if md5 and etag and _MD5_ETAG.match(etag.lower()) and etag.lower() != md5:
        raise Xtreme1StorageError(
            f"Upload of {src.name} to {masked}: the store's ETag {etag} differs from the MD5 {md5} of the "
            "bytes sent; the stored object is corrupt. Upload again.",
            storage_code="BadDigest",
        )
    return seconds, etag, md5


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    """The next non-empty chunk, or ``None`` at the end."""
    for chunk in chunks:
        if chunk:
            return chunk
    return None


@contextlib.contextmanager
def _send(client: httpx.Client, request: httpx.Request) -> Iterator[httpx.Response]:
    response = client.send(request, stream=True)
    try:
        yield response
    finally:
        response.close()


# --------------------------------------------------------------------------------------------------
# Download


def download(
    url: str,
    destination: str | os.PathLike[str] | Any,
    *,
    overwrite: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_retries: int = 3,
    verify: bool | str | Any = True,
    progress_interval: float = 5.0,
    logger: LoggerLike | None = None,
    backoff: float = 1.0,
) -> DownloadResult:
    """GET a presigned URL (e.g. an export's ``filePath``) into ``destination``, streamed in 1 MiB chunks.

    The body goes to ``<name>.partial-<random>`` beside the destination and is renamed into place only
    when complete (size checked against ``Content-Length``), so the destination never holds a partial
    file. A local destination is moved with ``os.replace`` (atomic). An ``ObjectStoragePath`` destination
    is moved with its ``rename`` (on object stores a server-side copy and delete: not atomic, but the final
    key only ever receives a complete object). Missing local parent folders are created.

    :param url: the presigned GET URL, used exactly as given.
    :param destination: a local path or an ``ObjectStoragePath`` (a ``str`` with a scheme such as
        ``s3://`` is turned into one).
    :param overwrite: replace an existing destination; otherwise it is an error, checked before the GET.
    :param timeout: seconds allowed for each read or write on the socket (connect: 10 s).
    :param max_retries: retries after a connection error, a dropped or short body, HTTP 5xx or 429 (after
        its ``Retry-After``); each retry starts from byte 0.
    :param verify: TLS verification: ``True``, ``False``, a CA bundle path or an ``ssl.SSLContext``.
    :param progress_interval: seconds between progress log lines (negative: none).
    :param logger: where to log: a ``logging.Logger`` or a task's ``self.log`` (default: this module's).
    :param backoff: first retry delay in seconds, doubled per retry (capped at 30 s).
    :return: a :class:`DownloadResult`.
    :raises Xtreme1UrlExpiredError: storage answered 403: the URL expired or its signature broke.
    :raises Xtreme1StorageError: the destination exists (without ``overwrite``), any other refusal, or
        retries exhausted (for example a body shorter than its ``Content-Length``).
    """
    logger = logger or log
    url = _check_url(url)
    verify = check_verify(verify)
    masked = mask_url(url)
    protect_url(url)
    target = _Destination(destination)
    if not overwrite and target.exists():
        raise Xtreme1StorageError(f"Download destination {target.uri} already exists; pass overwrite=True.")
    logger.info("Downloading %s to %s", masked, target.uri)
    (size, seconds), attempt = _with_retries(
        lambda: _download_once(url, target, masked, timeout, verify, progress_interval, logger),
        what=f"Download from {masked} to {target.uri}",
        on_retry="restarting from byte 0",
        max_retries=max_retries,
        backoff=backoff,
        logger=logger,
    )
    logger.info(
        "Downloaded %s to %s in %.1fs (%.1f MB/s), attempt %d",
        _size(size),
        target.uri,
        seconds,
        size / max(seconds, 1e-9) / 1e6,
        attempt,
    )
    return DownloadResult(uri=target.uri, bytes=size, seconds=seconds)


class _Destination:
    """A local path or an ObjectStoragePath, written through a ``.partial-<random>`` sibling."""

    def __init__(self, destination: Any) -> None:
        if isinstance(destination, (str, os.PathLike)):
            try:
                destination = resolve_location(destination, "destination")
            except ValueError as err:
                raise Xtreme1ConfigError(str(err)) from None
        self.local = isinstance(destination, PurePath)
        self.path: Any = Path(destination) if self.local else destination
        if not self.local and not (hasattr(destination, "open") and hasattr(destination, "parent")):
            raise Xtreme1ConfigError(
                f"Cannot download to {destination!r}: expected a path or ObjectStoragePath."
            )
        self.uri = str(self.path)

    def exists(self) -> bool:
        return bool(self.path.exists())

    def temp(self) -> Any:
        return self.path.parent / f"{self.path.name}.partial-{secrets.token_hex(4)}"

    def prepare(self) -> None:
        if self.local:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_dir() if self.local else _call_quietly(self.path, "is_dir"):
            raise Xtreme1StorageError(f"Download destination {self.uri} is a directory.")

    def open_temp(self, temp: Any) -> IO[bytes]:
        return open(temp, "wb", buffering=CHUNK_SIZE) if self.local else temp.open("wb")

    def commit(self, temp: Any) -> None:
        if self.local:
            os.replace(temp, self.path)
        else:
            temp.rename(self.path)

    @staticmethod
    def discard(temp: Any) -> None:
        with contextlib.suppress(Exception):
            if isinstance(temp, Path):
                temp.unlink(missing_ok=True)
            elif temp.exists():
                temp.unlink()


def _download_once(
    url: str,
    target: _Destination,
    masked: str,
    timeout: float,
    verify: Any,
    progress_interval: float,
    logger: LoggerLike,
) -> tuple[int, float]:
    target.prepare()
    temp = target.temp()
    started = time.monotonic()
    committed = False
    try:
        # Accept-Encoding identity: store the object's bytes as they are, so Content-Length can be checked.
        with (
            _client(url, timeout, verify) as client,
            client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as response,
        ):
            if not 200 <= response.status_code < 300:
                raise _refusal(
                    "Download",
                    response,
                    masked,
                    renew="Request a new URL (poll the export record again: filePath is re-signed).",
                )
            length_header = response.headers.get("Content-Length")
            expected = int(length_header) if length_header and length_header.isdigit() else None
            if expected is None:
                logger.warning("Storage sent no Content-Length for %s; the size cannot be checked", masked)
            progress = _Progress(logger, "Downloaded", expected, progress_interval, target.uri)
            with target.open_temp(temp) as out:
                for piece in response.iter_raw():
                    out.write(piece)
                    progress.add(len(piece))
        if expected is not None and progress.done != expected:
            raise _Transient(f"short body: {progress.done} of {expected} bytes (Content-Length)")
        target.commit(temp)
        committed = True
    except httpx.TimeoutException as exc:
        raise _Transient(f"timeout ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise _transport_failure(exc, masked) from exc
    finally:
        if not committed:
            target.discard(temp)
    return progress.done, time.monotonic() - started
