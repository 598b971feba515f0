"""Streaming PUT of a source to a presigned URL, with the ETag/MD5 check."""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from airflow_provider_xtreme1.exceptions import (
    Xtreme1StorageError,
)
from airflow_provider_xtreme1.transfer.http import (
    _MD5_ETAG,
    DEFAULT_TIMEOUT,
    UploadResult,
    _check_url,
    _client,
    _Progress,
    _refusal,
    _retrying,
    _send,
    _size,
    _Transient,
    _transport_failure,
    check_verify,
)
from airflow_provider_xtreme1.transfer.masking import LoggerLike, mask_url, protect_url
from airflow_provider_xtreme1.transfer.sources import UploadSource, as_source

log = logging.getLogger(__name__)


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
    (seconds, etag, md5), attempt = _retrying(
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
