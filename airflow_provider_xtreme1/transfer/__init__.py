"""Streaming transfers to and from presigned object-storage URLs (MinIO, S3 and compatibles).

This is the only package that talks to presigned URLs. It uses a bare :class:`httpx.Client` per
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

URLs in log lines are masked with :func:`mask_url`. Importing this package adds a filter to the
``httpx`` logger that masks presigned signatures in its ``HTTP Request: ...`` lines too.

Modules: :mod:`.masking` (URL masking), :mod:`.sources` (what can be uploaded), :mod:`.http` (client,
results, refusals, retries), :mod:`.uploads`, :mod:`.downloads`, :mod:`.stat`. Where data lives (local
path or object storage) is decided by :mod:`airflow_provider_xtreme1.locations`.
"""

from __future__ import annotations

from airflow_provider_xtreme1.locations import check_local_path, object_storage_schemes, resolve_location
from airflow_provider_xtreme1.transfer.downloads import download
from airflow_provider_xtreme1.transfer.http import CHUNK_SIZE, DownloadResult, UploadResult, check_verify
from airflow_provider_xtreme1.transfer.masking import mask_url, protect_url
from airflow_provider_xtreme1.transfer.sources import ObjectStorageSource, UploadSource, as_source
from airflow_provider_xtreme1.transfer.stat import ObjectStat, stat_object
from airflow_provider_xtreme1.transfer.uploads import upload

__all__ = [
    "CHUNK_SIZE",
    "DownloadResult",
    "ObjectStat",
    "ObjectStorageSource",
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
    "stat_object",
    "upload",
]
