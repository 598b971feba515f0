"""Branches a real store will not produce on demand, against the scriptable fault server."""

from __future__ import annotations

import hashlib
import os

import pytest

from airflow_provider_xtreme1 import transfer
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1StorageError,
    Xtreme1UrlExpiredError,
    Xtreme1ValidationError,
)

MiB = 1024 * 1024
FAST = {"backoff": 0.01}


@pytest.fixture
def archive(tmp_path):
    data = os.urandom(3 * MiB + 99)
    path = tmp_path / "archive.zip"
    path.write_bytes(data)
    return path, data


def test_put_headers_are_bare(faulty, archive):
    path, data = archive
    transfer.upload(faulty.presigned("k.zip"), path)
    (put,) = faulty.log
    headers = {k.lower(): v for k, v in put.headers.items()}
    assert headers["content-length"] == str(len(data)) and "transfer-encoding" not in headers
    assert "authorization" not in headers and "cookie" not in headers
    assert not [h for h in headers if h.startswith("x-amz-")]
    assert headers["host"] == faulty.url.removeprefix("http://")
    assert put.path == faulty.presigned("k.zip").removeprefix(faulty.url)  # URL used verbatim


def test_dropped_connection_is_retried_with_the_full_body(faulty, archive):
    path, data = archive
    faulty.script.append("drop")
    result = transfer.upload(faulty.presigned("k.zip"), path, **FAST)
    first, second = faulty.log
    assert first.action == "drop" and first.received < len(data)
    assert second.received == len(data) and second.md5 == hashlib.md5(data).hexdigest()
    assert faulty.objects["/bucket/k.zip"] == data
    assert result.attempts == 2 and result.etag == result.md5 == second.md5


def test_503_is_retried_by_reopening_a_planned_zip(faulty):
    class Plan:
        size = 2 * MiB + 1
        opened = 0

        def iter_bytes(self, chunk_size):
            Plan.opened += 1
            yield b"x" * (MiB + 1)
            yield b"y" * MiB

    faulty.script.extend(["503", "503"])
    result = transfer.upload(faulty.presigned("p.zip"), Plan(), **FAST)
    assert Plan.opened == 3 and result.attempts == 3
    assert [r.received for r in faulty.log] == [Plan.size] * 3
    assert faulty.objects["/bucket/p.zip"] == b"x" * (MiB + 1) + b"y" * MiB


def test_retries_exhausted(faulty, archive):
    path, _ = archive
    faulty.script.extend(["503"] * 3)
    with pytest.raises(Xtreme1StorageError, match=r"after 3 attempts.*503 SlowDown") as info:
        transfer.upload(faulty.presigned("k.zip"), path, max_retries=2, **FAST)
    assert info.value.status == 503 and len(faulty.log) == 3


def test_storage_500_is_transient(faulty, archive):
    """Unlike the API's HTTP 500 (an ``UNKNOWN`` envelope, never retried), S3's InternalError is."""
    path, data = archive
    faulty.script.append("500")
    result = transfer.upload(faulty.presigned("k.zip"), path, **FAST)
    assert result.attempts == 2 and faulty.objects["/bucket/k.zip"] == data


def test_retry_after_beyond_the_bound_ends_the_retries(faulty, archive):
    """One rule with the API: a ``Retry-After`` over 120 s is neither cut short nor slept through."""
    path, _ = archive
    faulty.script.append("503wait")
    with pytest.raises(
        Xtreme1StorageError, match=r"after 1 attempt \(the store asked to wait 3600 s"
    ) as info:
        transfer.upload(faulty.presigned("k.zip"), path, **FAST)
    assert info.value.status == 503 and len(faulty.log) == 1


def test_wrong_etag_means_corrupt_object(faulty, archive):
    path, data = archive
    faulty.script.append("bad_etag")
    with pytest.raises(Xtreme1StorageError, match="corrupt") as info:
        transfer.upload(faulty.presigned("k.zip"), path)
    assert hashlib.md5(data).hexdigest() in str(info.value)
    faulty.script.append("bad_etag")
    unchecked = transfer.upload(faulty.presigned("k.zip"), path, checksum=False)
    assert unchecked.md5 is None and unchecked.etag == "0" * 32


@pytest.mark.parametrize(
    ("action", "status", "code", "error"),
    [
        ("403", 403, "SignatureDoesNotMatch", Xtreme1UrlExpiredError),
        ("400auth", 400, "InvalidArgument", Xtreme1StorageError),
        ("411", 411, "MissingContentLength", Xtreme1StorageError),
    ],
)
def test_refusals_carry_the_s3_code(faulty, archive, action, status, code, error):
    path, _ = archive
    faulty.script.append(action)
    with pytest.raises(error) as info:
        transfer.upload(faulty.presigned("k.zip"), path)
    assert type(info.value) is error
    assert (info.value.status, info.value.storage_code) == (status, code)
    assert code in str(info.value) and len(faulty.log) == 1  # not retried
    if action == "400auth":
        assert "InvalidArgument: Only one auth mechanism allowed" in str(info.value)
    if action == "403":
        assert "GetUploadUrl" in str(info.value)


@pytest.mark.parametrize("produced", [MiB, 3 * MiB], ids=["short", "long"])
def test_source_that_breaks_its_size_is_never_a_success(faulty, produced):
    class Liar:
        size = 2 * MiB

        def iter_bytes(self, chunk_size):
            for _ in range(produced // MiB):
                yield b"z" * MiB

    with pytest.raises(Xtreme1StorageError, match=r"instead of the declared|more than the declared"):
        transfer.upload(faulty.presigned("l.zip"), Liar())
    assert "/bucket/l.zip" not in faulty.objects


def test_invalid_sources_fail_before_any_byte(faulty, tmp_path):
    (tmp_path / "empty.zip").touch()
    (tmp_path / "folder").mkdir()
    for bad, words in [
        (tmp_path / "missing.zip", "does not exist"),
        (tmp_path / "folder", "is a directory"),
        (tmp_path / "empty.zip", "is empty"),
    ]:
        with pytest.raises(Xtreme1ValidationError, match=words) as info:
            transfer.upload(faulty.presigned("k.zip"), bad)
        assert str(bad) in str(info.value)
    with pytest.raises(Xtreme1ConfigError):
        transfer.upload("ftp://example/x", tmp_path / "empty.zip")
    assert faulty.log == []


def test_short_download_is_retried_from_the_start(faulty, tmp_path):
    data = os.urandom(3 * MiB + 5)
    faulty.objects["/bucket/e.zip"] = data
    faulty.script.append("short")
    dest = tmp_path / "e.zip"
    result = transfer.download(faulty.presigned("e.zip"), dest, **FAST)
    assert dest.read_bytes() == data and result.bytes == len(data)
    assert [r.action for r in faulty.log] == ["short", "ok"]
    assert faulty.log[0].headers.get("Accept-Encoding") == "identity"
    assert "authorization" not in {k.lower() for k in faulty.log[0].headers}


def test_persistently_short_download_fails_and_leaves_nothing(faulty, tmp_path):
    faulty.objects["/bucket/e.zip"] = os.urandom(2 * MiB)
    faulty.script.extend(["short", "short"])
    with pytest.raises(Xtreme1StorageError, match="after 2 attempts") as info:
        transfer.download(faulty.presigned("e.zip"), tmp_path / "e.zip", max_retries=1, **FAST)
    assert "X-Amz-Signature=***" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_download_503_retried_and_403_not(faulty, tmp_path):
    faulty.objects["/bucket/e.zip"] = b"abc" * 1000
    faulty.script.append("503")
    assert transfer.download(faulty.presigned("e.zip"), tmp_path / "a.zip", **FAST).bytes == 3000
    faulty.script.append("403")
    with pytest.raises(Xtreme1UrlExpiredError, match="AccessDenied: Request has expired"):
        transfer.download(faulty.presigned("e.zip"), tmp_path / "b.zip", **FAST)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


def test_proxies_from_the_environment_are_honoured(faulty, archive, monkeypatch):
    path, data = archive
    monkeypatch.setenv("HTTP_PROXY", faulty.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    url = "http://storage.invalid:9000/bucket/k.zip?X-Amz-SignedHeaders=host&X-Amz-Signature=" + "cd" * 32
    transfer.upload(url, path)
    (put,) = faulty.log
    assert put.path.startswith("http://storage.invalid:9000/bucket/k.zip?")  # absolute form: via the proxy
    assert put.headers["Host"] == "storage.invalid:9000" and put.received == len(data)


def test_custom_sources_follow_the_protocol(faulty):
    class Parts:
        name = "parts.bin"
        size = 6

        def open_chunks(self):
            yield b"abc"
            yield b"def"

    assert transfer.as_source(Parts()).name == "parts.bin"
    transfer.upload(faulty.presigned("parts.bin"), Parts())
    assert faulty.objects["/bucket/parts.bin"] == b"abcdef"
    Parts.size = 0
    with pytest.raises(Xtreme1ValidationError, match=r"parts\.bin"):
        transfer.upload(faulty.presigned("parts.bin"), Parts())
    with pytest.raises(Xtreme1ConfigError):
        transfer.as_source(42)
    assert len(faulty.log) == 1
