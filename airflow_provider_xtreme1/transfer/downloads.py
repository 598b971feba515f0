"""Streaming GET of a presigned URL into a local path or an ``ObjectStoragePath``, written atomically."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import httpx

from airflow_provider_xtreme1.exceptions import (
    Xtreme1DestinationExistsError,
)
from airflow_provider_xtreme1.locations import Destination
from airflow_provider_xtreme1.transfer.http import (
    DEFAULT_TIMEOUT,
    DownloadResult,
    _check_url,
    _client,
    _Progress,
    _refusal,
    _retrying,
    _size,
    _Transient,
    _transport_failure,
    check_verify,
)
from airflow_provider_xtreme1.transfer.masking import LoggerLike, mask_url, protect_url

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
    :raises Xtreme1DestinationExistsError: the destination exists (without ``overwrite``).
    :raises Xtreme1StorageError: any other refusal, or
        retries exhausted (for example a body shorter than its ``Content-Length``).
    """
    logger = logger or log
    url = _check_url(url)
    verify = check_verify(verify)
    masked = mask_url(url)
    protect_url(url)
    target = Destination(destination)
    if not overwrite and target.exists():
        raise Xtreme1DestinationExistsError(
            f"Download destination {target.uri} already exists; pass overwrite=True.", target.uri
        )
    logger.info("Downloading %s to %s", masked, target.uri)
    (size, seconds), attempt = _retrying(
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


def _download_once(
    url: str,
    target: Destination,
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
