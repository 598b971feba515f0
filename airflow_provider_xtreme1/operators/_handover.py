"""The hand-over from PutArchive to ImportDataset: import only the object that was uploaded.

The three-task upload passes the 7-day presigned URLs through XCom, where anyone who can read the DAG's
XComs can use them: the PUT URL would let them replace the archive before the import. PutArchive therefore
returns what it wrote (size, ETag, MD5), and ImportDataset looks at the object (HEAD, or the first byte)
before the server is told to import it, refusing it when it differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_xtreme1._arguments import as_mapping
from airflow_provider_xtreme1._connection import API_PREFIX
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError, Xtreme1StorageError

_MD5 = frozenset("0123456789abcdef")
#: Path prefix of objects in the server's bucket (``minio.bucketName``).
BUCKET_PATH = "/xtreme1/"


def expected_object(
    expected: Any, size: Any = None, etag: Any = None
) -> tuple[int | None, str | None, str | None]:
    """``(size, etag, md5)`` to expect, from PutArchive's return value and/or the single arguments."""
    expected = as_mapping(expected)
    if expected not in (None, "") and not isinstance(expected, Mapping):
        raise Xtreme1ConfigError(
            f"expected_object must be the return value of Xtreme1PutArchiveOperator (a dict with "
            f"'bytes' and 'etag'), got {type(expected).__name__}"
        )
    expected = expected or {}
    size = size if size not in (None, "") else expected.get("bytes")
    etag = etag if etag not in (None, "") else expected.get("etag")
    md5 = expected.get("md5")
    try:
        size = None if size in (None, "") else int(size)
    except (TypeError, ValueError):
        raise Xtreme1ConfigError(f"expected_size must be a number of bytes, got {size!r}") from None
    return size, _plain(etag), _plain(md5)


def _plain(tag: Any) -> str | None:
    text = str(tag or "").strip().strip('"').lower()
    return text or None


def reachable_url(file_url: str, api_base_url: str) -> str:
    """The ``accessUrl`` as a worker can reach it.

    The server signs it for its internal MinIO endpoint (``http://minio:9000/xtreme1/<key>``,
    J:adapter/port/minio/MinioService.java ``getInternalUrl``), a host workers usually cannot resolve;
    nginx serves the same bucket under ``<server>/minio/`` and hands MinIO the host the URL was signed for
    (deploy/nginx/conf.d/default.conf), as MinioService.replaceUrl does for the upload URL.
    """
    parts = urlsplit(file_url)
    api = urlsplit(api_base_url)
    if not api.netloc or not parts.path.startswith(BUCKET_PATH) or parts.netloc == api.netloc:
        return file_url
    root = api.path[: -len(API_PREFIX)] if api.path.endswith(API_PREFIX) else api.path.rstrip("/")
    return urlunsplit((api.scheme, api.netloc, f"{root}/minio{parts.path}", parts.query, ""))


def check_uploaded_object(
    file_url: str,
    *,
    size: int | None,
    etag: str | None,
    md5: str | None,
    api_base_url: str,
    verify: Any,
    log: Any,
) -> dict[str, Any]:
    """Refuse the import when the stored object is not the one PutArchive wrote.

    :raises Xtreme1StorageError: size or ETag differ, or the store sent no ETag to compare.
    """
    from airflow_provider_xtreme1.transfer import mask_url, stat_object

    url = reachable_url(file_url, api_base_url)
    stat = stat_object(url, verify=verify, logger=log)
    found = _plain(stat.etag)
    problems = []
    if size is not None and stat.size != size:
        problems.append(f"its size is {stat.size} bytes, PutArchive wrote {size}")
    wanted = etag or md5
    if wanted and found is None:
        problems.append("the store sent no ETag, so it cannot be shown to be the object PutArchive wrote")
    elif etag and found != etag:
        problems.append(f"its ETag is {found}, PutArchive got {etag}")
    elif not etag and md5 and set(found or "") <= _MD5 and found != md5:
        problems.append(f"its ETag is {found}, the MD5 of the bytes PutArchive sent is {md5}")
    if problems:
        raise Xtreme1StorageError(
            f"Refusing to import {mask_url(file_url)}: the object is not the archive PutArchive uploaded "
            f"({'; '.join(problems)}). It was replaced or changed after the upload (the presigned URLs in "
            "XCom allow that). Run the upload again.",
            storage_code="ObjectChanged",
        )
    log.info("The uploaded object is unchanged: %s bytes, ETag %s.", stat.size, found)
    return {"bytes": stat.size, "etag": found}
