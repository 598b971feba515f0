"""Presigned transfers against the Xtreme1 emulator's object store (the main target)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from airflow_provider_xtreme1 import transfer
from airflow_provider_xtreme1.archives import packing
from airflow_provider_xtreme1.emulator import Fault
from airflow_provider_xtreme1.exceptions import Xtreme1UrlExpiredError

TOKEN = "transfer-test-token-5b7e"
MiB = 1024 * 1024


def presigned_put(emu, file_name: str) -> str:
    """GetUploadUrl, the one call that carries the bearer token."""
    emu.add_token(TOKEN)
    response = requests.get(
        f"{emu.url}/api/data/generatePresignedUrl",
        params={"fileName": file_name, "datasetId": 7},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    response.raise_for_status()
    body = response.json()
    assert body["code"] == "OK", body
    return body["data"]["presignedUrl"]


def stored_object(emu, url: str) -> Path:
    key = unquote(urlsplit(url).path).removeprefix("/minio/xtreme1/")
    return Path(emu.data_dir, "store", "objects", *key.split("/"))


def assert_no_credentials(emu) -> None:
    for record in emu.storage_log:
        assert "authorization" not in {k.lower() for k in record["headers"]}
        assert TOKEN not in json.dumps(record)


def test_upload_to_emulator_storage_sends_no_authorization(emu, tmp_path):
    data = os.urandom(3 * MiB + 17)
    (tmp_path / "ds.zip").write_bytes(data)
    url = presigned_put(emu, "ds.zip")
    result = transfer.upload(url, tmp_path / "ds.zip")
    (put,) = [r for r in emu.storage_log if r["method"] == "PUT"]
    assert put["status"] == 200 and put["bytes"] == len(data)
    assert result.etag == hashlib.md5(data).hexdigest()
    assert stored_object(emu, url).read_bytes() == data
    assert_no_credentials(emu)


def test_dropped_put_is_retried_to_an_identical_object(emu, tmp_path):
    data = os.urandom(2 * MiB + 1)
    (tmp_path / "ds.zip").write_bytes(data)
    url = presigned_put(emu, "ds.zip")
    emu.inject(Fault(path=r"^/minio/", method="PUT", kind="drop", times=1))
    result = transfer.upload(url, tmp_path / "ds.zip", backoff=0.01)
    puts = [r for r in emu.storage_log if r["method"] == "PUT"]
    assert len(puts) == 2 and result.attempts == 2
    assert puts[0]["status"] != 200 and (puts[1]["status"], puts[1]["bytes"]) == (200, len(data))
    assert stored_object(emu, url).read_bytes() == data
    assert_no_credentials(emu)


def test_planned_zip_to_emulator(emu, tmp_path, write_jpegs):
    folder = tmp_path / "cats"
    write_jpegs(folder / "image_0", 3)
    plan = packing.plan_zip(folder, "IMAGE")
    url = presigned_put(emu, "cats.zip")
    result = transfer.upload(url, plan)
    stored = stored_object(emu, url).read_bytes()
    assert len(stored) == plan.size == result.bytes
    assert hashlib.md5(stored).hexdigest() == result.md5 == result.etag
    assert_no_credentials(emu)


def test_tampered_emulator_url_is_refused(emu, tmp_path):
    (tmp_path / "ds.zip").write_bytes(b"z" * 1000)
    url = presigned_put(emu, "ds.zip")
    with pytest.raises(Xtreme1UrlExpiredError, match=r"SignatureDoesNotMatch.*GetUploadUrl"):
        transfer.upload(url[:-1] + ("0" if url[-1] != "0" else "1"), tmp_path / "ds.zip")
    assert not stored_object(emu, url).exists()
