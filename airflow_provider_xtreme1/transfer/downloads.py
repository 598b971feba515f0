"""Streaming GET of a presigned URL into a local path or an ``ObjectStoragePath``, written atomically."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from pathlib import Path, PurePath
from typing import IO, Any

import httpx

from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1StorageError,
)
from airflow_provider_xtreme1.locations import resolve_location
from airflow_provider_xtreme1.transfer.http import (
    CHUNK_SIZE,
    DEFAULT_TIMEOUT,
    DownloadResult,
    _check_url,
    _client,
    _Progress,
    _refusal,
    _size,
    _Transient,
    _transport_failure,
    _with_retries,
    check_verify,
)
from airflow_provider_xtreme1.transfer.masking import LoggerLike, mask_url, protect_url
from airflow_provider_xtreme1.transfer.sources import _call_quietly

log = logging.getLogger(__name__)


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
