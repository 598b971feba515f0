"""Size and ETag of an object behind a presigned URL, without downloading it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from airflow_provider_xtreme1.transfer.http import (
    _check_url,
    _client,
    _refusal,
    _retrying,
    _send,
    _Transient,
    _transport_failure,
)
from airflow_provider_xtreme1.transfer.masking import LoggerLike, mask_url, protect_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ObjectStat:
    """What a store says about an object: ``size`` in bytes and ``etag`` (quotes stripped), if sent."""

    size: int | None
    etag: str | None


def stat_object(
    url: str,
    *,
    timeout: float = 60.0,
    max_retries: int = 3,
    verify: bool | str | Any = True,
    logger: LoggerLike | None = None,
    backoff: float = 1.0,
) -> ObjectStat:
    """Size and ETag of the object behind a presigned GET URL, without downloading it.

    Sends ``HEAD``; a URL signed for GET only is refused for HEAD by S3 and MinIO (the method is part of
    the signature), so on 403/405/501 it asks for the first byte instead (``Range: bytes=0-0``) and reads
    the size from ``Content-Range``. No API token is ever sent.

    :raises Xtreme1UrlExpiredError: the store refused both requests with 403.
    :raises Xtreme1StorageError: any other refusal, or retries exhausted.
    """
    logger = logger or log
    url = _check_url(url)
    masked = mask_url(url)
    protect_url(url)
    stat, _ = _retrying(
        lambda: _stat_once(url, masked, timeout, verify),
        what=f"Looking up {masked}",
        on_retry="asking again",
        max_retries=max_retries,
        backoff=backoff,
        logger=logger,
    )
    return stat


def _stat_once(url: str, masked: str, timeout: float, verify: Any) -> ObjectStat:
    try:
        with _client(url, timeout, verify) as client:
            with _send(client, client.build_request("HEAD", url)) as response:
                if response.status_code == 200:
                    return ObjectStat(_int(response.headers.get("Content-Length")), _etag(response))
                if response.status_code not in (403, 405, 501):
                    raise _refusal("HEAD", response, masked, renew="Upload the archive again.")
            request = client.build_request("GET", url, headers={"Range": "bytes=0-0"})
            with _send(client, request) as response:
                if response.status_code == 206:
                    total = (response.headers.get("Content-Range") or "").rpartition("/")[2]
                    return ObjectStat(_int(total), _etag(response))
                if response.status_code == 200:  # a store that ignores Range: do not read the body
                    return ObjectStat(_int(response.headers.get("Content-Length")), _etag(response))
                raise _refusal("Range GET", response, masked, renew="Upload the archive again.")
    except httpx.TimeoutException as exc:
        raise _Transient(f"timeout ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise _transport_failure(exc, masked) from exc


def _int(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def _etag(response: httpx.Response) -> str | None:
    return (response.headers.get("ETag") or "").strip().strip('"') or None
