"""Uploads and downloads against a real SigV4-checking S3 endpoint (rclone serve s3)."""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid

import httpx
import pytest

from airflow_provider_xtreme1 import transfer
from airflow_provider_xtreme1.archives import packing
from airflow_provider_xtreme1.exceptions import (
    Xtreme1DestinationExistsError,
    Xtreme1UrlExpiredError,
)

MiB = 1024 * 1024


def make_file(path, size: int, seed: int = 1) -> bytes:
    data = (hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1))[:size]
    data = os.urandom(64) + data[64:]  # never identical between tests
    path.write_bytes(data)
    return data


class TinyPlan:
    """What packing.plan_zip returns, as far as transfer cares: ``size`` and ``iter_bytes``."""

    def __init__(self, data: bytes, piece: int = 100_000):
        self.data = data
        self.size = len(data)
        self.piece = piece
        self.opened = 0

    def iter_bytes(self, chunk_size: int):
        self.opened += 1
        step = min(chunk_size, self.piece)
        for i in range(0, len(self.data), step):
            yield self.data[i : i + step]


def key() -> str:
    return f"1/7/{uuid.uuid4().hex}/upload.zip"


def test_upload_stores_identical_bytes_and_checks_etag(s3, tmp_path, caplog):
    data = make_file(tmp_path / "upload.zip", 3 * MiB + 12345)
    name = key()
    url = s3.presign("PUT", name)
    caplog.set_level(logging.INFO)
    result = transfer.upload(url, tmp_path / "upload.zip", progress_interval=0)

    assert s3.path(name).read_bytes() == data
    md5 = hashlib.md5(data).hexdigest()
    assert result.md5 == md5 and result.etag == md5
    assert (result.bytes, result.attempts) == (len(data), 1)
    assert (
        "Uploaded" in caplog.text
        and "100.0%" in caplog.text
        and "MB/s" in caplog.text
        and "ETA" in caplog.text
    )
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    assert signature not in caplog.text and "X-Amz-Signature=***" in caplog.text


def test_upload_of_a_planned_zip_like_object(s3):
    plan = TinyPlan(os.urandom(2 * MiB + 7))
    name = key()
    result = transfer.upload(s3.presign("PUT", name), plan)
    assert s3.path(name).read_bytes() == plan.data
    assert result.etag == hashlib.md5(plan.data).hexdigest() and plan.opened == 1


def test_upload_of_a_real_plan_zip(s3, tmp_path, write_jpegs):
    import zipfile

    folder = tmp_path / "ds"
    write_jpegs(folder / "image_0", 2)
    plan = packing.plan_zip(folder, "IMAGE")
    name = key()
    result = transfer.upload(s3.presign("PUT", name), plan)
    stored = s3.path(name)
    assert result.bytes == plan.size == stored.stat().st_size
    with zipfile.ZipFile(stored) as zf:
        assert zf.testzip() is None
        assert sorted(n.rsplit("/", 1)[-1] for n in zf.namelist() if not n.endswith("/")) == [
            "0.jpg",
            "1.jpg",
        ]


def test_upload_streams_an_object_storage_path(s3, tmp_path):
    from airflow.sdk import ObjectStoragePath

    data = make_file(tmp_path / "remote.zip", 2 * MiB + 3)
    source = ObjectStoragePath(f"file://{tmp_path}/remote.zip")
    wrapped = transfer.as_source(source)
    assert isinstance(wrapped, transfer.ObjectStorageSource) and wrapped.size == len(data)
    assert max(len(c) for c in wrapped.open_chunks()) <= transfer.CHUNK_SIZE
    name = key()
    result = transfer.upload(s3.presign("PUT", name), source)
    assert s3.path(name).read_bytes() == data and result.etag == hashlib.md5(data).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["remote.zip"]  # no local copy was made


@pytest.fixture(scope="module")
def expired(s3):
    """Presigned URLs (two PUTs, one GET) that expired after 1 s, waited for once."""
    names = {"small": key(), "8MiB": key(), "get": key()}
    s3.client.put_object(Bucket="bucket", Key=names["get"], Body=b"x" * 1000)
    urls = {
        "small": s3.presign("PUT", names["small"], expires=1),
        "8MiB": s3.presign("PUT", names["8MiB"], expires=1),
        "get": s3.presign("GET", names["get"], expires=1),
    }
    time.sleep(2.1)
    return names, urls


@pytest.mark.parametrize(("case", "size"), [("small", 1000), ("8MiB", 8 * MiB)])
def test_expired_url_raises_url_expired(s3, expired, tmp_path, case, size):
    # 8 MiB: the store refuses before reading the body; the refusal must still surface, not a reset.
    names, urls = expired
    make_file(tmp_path / "f.zip", size)
    with pytest.raises(Xtreme1UrlExpiredError) as info:
        transfer.upload(urls[case], tmp_path / "f.zip", max_retries=0)
    message = str(info.value)
    assert "expired" in message and "GetUploadUrl" in message and "AccessDenied" in message
    assert "X-Amz-Signature=***" in message and urls[case].rsplit("=", 1)[1] not in message
    assert not s3.path(names[case]).exists()


def test_tampered_signature_raises_url_expired(s3, tmp_path):
    make_file(tmp_path / "f.zip", 5000)
    name = key()
    url = s3.presign("PUT", name)
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    with pytest.raises(Xtreme1UrlExpiredError) as info:
        transfer.upload(tampered, tmp_path / "f.zip")
    assert info.value.status == 403 and info.value.storage_code == "SignatureDoesNotMatch"
    assert "SignatureDoesNotMatch" in str(info.value) and "signature no longer matches" in str(info.value)
    assert not s3.path(name).exists()


def test_changed_host_breaks_the_signature(s3, tmp_path):
    # Why the URL must be used exactly as given: 127.0.0.1 -> localhost is refused.
    make_file(tmp_path / "f.zip", 5000)
    url = s3.presign("PUT", key()).replace("127.0.0.1", "localhost")
    with pytest.raises(Xtreme1UrlExpiredError):
        transfer.upload(url, tmp_path / "f.zip")


def test_store_refuses_chunked_bodies_but_our_put_is_length_framed(s3, tmp_path):
    data = os.urandom(300_000)
    # A chunked PUT (an iterator without Content-Length) is refused by the store...
    chunked = httpx.put(s3.presign("PUT", key()), content=iter([data]))
    assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
    assert chunked.status_code == 411 and b"MissingContentLength" in chunked.content
    # ...while our upload of a generator-backed source (no file, no len()) is accepted: never chunked.
    name = key()
    transfer.upload(s3.presign("PUT", name), TinyPlan(data, piece=4096))
    assert s3.path(name).read_bytes() == data


def test_download_to_a_local_path(s3, tmp_path):
    data = make_file(tmp_path / "src.zip", 3 * MiB + 1)
    name = key()
    transfer.upload(s3.presign("PUT", name), tmp_path / "src.zip")
    dest = tmp_path / "out" / "export.zip"
    result = transfer.download(s3.presign("GET", name), dest, progress_interval=0)
    assert dest.read_bytes() == data and result.bytes == len(data) and result.uri == str(dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["export.zip"]  # no partial left behind


def test_download_refuses_to_overwrite_before_any_request(s3, tmp_path):
    data = make_file(tmp_path / "src.zip", 10_000)
    name = key()
    transfer.upload(s3.presign("PUT", name), tmp_path / "src.zip")
    dest = tmp_path / "export.zip"
    dest.write_bytes(b"keep me")
    bad_url = s3.presign("GET", name)[:-1] + "0"  # a GET with it would raise Xtreme1UrlExpiredError
    with pytest.raises(Xtreme1DestinationExistsError, match="already exists") as info:
        transfer.download(bad_url, dest)
    assert not isinstance(info.value, Xtreme1UrlExpiredError) and str(dest) in str(info.value)
    assert dest.read_bytes() == b"keep me"
    transfer.download(s3.presign("GET", name), dest, overwrite=True)
    assert dest.read_bytes() == data


def test_download_to_an_object_storage_path(s3, tmp_path):
    from airflow.sdk import ObjectStoragePath

    data = make_file(tmp_path / "src.zip", 2 * MiB + 5)
    name = key()
    transfer.upload(s3.presign("PUT", name), tmp_path / "src.zip")
    (tmp_path / "lake").mkdir()
    dest = ObjectStoragePath(f"file://{tmp_path}/lake/export.zip")
    result = transfer.download(s3.presign("GET", name), dest)
    assert (tmp_path / "lake" / "export.zip").read_bytes() == data
    assert result.uri == str(dest) and result.bytes == len(data)
    assert sorted(p.name for p in (tmp_path / "lake").iterdir()) == ["export.zip"]
    with pytest.raises(Xtreme1DestinationExistsError, match="already exists"):
        transfer.download(s3.presign("GET", name), dest)
    (tmp_path / "lake" / "export.zip").write_bytes(b"old")
    transfer.download(s3.presign("GET", name), dest, overwrite=True)
    assert (tmp_path / "lake" / "export.zip").read_bytes() == data
    assert sorted(p.name for p in (tmp_path / "lake").iterdir()) == ["export.zip"]


def test_expired_download_url(expired, tmp_path):
    _, urls = expired
    with pytest.raises(Xtreme1UrlExpiredError, match="export record"):
        transfer.download(urls["get"], tmp_path / "x.zip")
    assert list(tmp_path.iterdir()) == []
