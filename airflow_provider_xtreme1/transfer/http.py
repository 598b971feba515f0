"""The presigned-URL HTTP client, result records, progress lines, refusals and what is retried."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import ssl
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from airflow_provider_xtreme1 import __version__
from airflow_provider_xtreme1._responses import parse_retry_after, snippet
from airflow_provider_xtreme1._tls import ssl_context
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1StorageError,
    Xtreme1UrlExpiredError,
)
from airflow_provider_xtreme1.locations import check_local_path
from airflow_provider_xtreme1.retries import call_with_retries, transfer_policy
from airflow_provider_xtreme1.transfer.masking import LoggerLike, mask_url

log = logging.getLogger(__name__)


CHUNK_SIZE = 1024 * 1024
"""Bytes per read/write: 1 MiB (httpx with a 1 MiB generator was the fastest client measured)."""

CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 300.0
#: Storage answers worth another attempt. Unlike the API's HTTP 500 (the backend's own ``UNKNOWN``
#: envelope), a storage 500 is transient: S3 documents ``InternalError`` as "retry the request".
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_ERROR_BODY_LIMIT = 64 * 1024
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
_USER_AGENT = f"airflow-provider-xtreme1/{__version__} (presigned transfer)"

T = TypeVar("T")


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
    """An attempt failed in a way worth retrying: a network failure, a short body, or a storage
    429/500/502/503/504 (a storage 500 is transient, unlike the API's 500 ``UNKNOWN`` envelope)."""

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


def _retrying(
    attempt_once: Callable[[], T],
    *,
    what: str,
    on_retry: str,
    max_retries: int,
    backoff: float,
    logger: Any,
) -> tuple[T, int]:
    """Run one transfer attempt through the retry engine (:mod:`airflow_provider_xtreme1.retries`);
    ``_Transient`` failures are retried from the start, with no time budget.

    Returns the attempt's result and how many attempts it took.

    :raises Xtreme1StorageError: when the retries end, naming the attempts and the last failure.
    """
    policy = transfer_policy(max_retries, backoff)
    attempts = 0

    def counted() -> T:
        nonlocal attempts
        attempts += 1
        return attempt_once()

    try:
        result = call_with_retries(
            counted,
            policy=policy,
            retryable=lambda exc: isinstance(exc, _Transient),
            what=what,
            on_retry=on_retry,
            log=logger,
        )
    except _Transient as exc:
        why = ""
        if exc.retry_after is not None and exc.retry_after > policy.max_retry_after:
            why = (
                f" (the store asked to wait {exc.retry_after:g} s, longer than the "
                f"{policy.max_retry_after:g} s waited at most)"
            )
        raise Xtreme1StorageError(
            f"{what} failed after {attempts} attempt{'s' if attempts != 1 else ''}{why}: {exc}",
            status=exc.status,
            storage_code=exc.storage_code,
        ) from exc
    return result, attempts


@contextlib.contextmanager
def _send(client: httpx.Client, request: httpx.Request) -> Iterator[httpx.Response]:
    response = client.send(request, stream=True)
    try:
        yield response
    finally:
        response.close()
