"""PutArchive -> ImportDataset: the import refuses an object that is not the one PutArchive wrote.

The presigned URLs travel through XCom; whoever reads them could replace the archive in between. These
tests replace it for real (a second PUT through the same presigned URL) and watch the import refuse.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from operator_helpers import request_paths, run_task

from airflow_provider_xtreme1.exceptions import Xtreme1StorageError, Xtreme1ValidationError
from airflow_provider_xtreme1.operators._handover import reachable_url
from airflow_provider_xtreme1.operators.imports import Xtreme1ImportDatasetOperator
from airflow_provider_xtreme1.operators.upload import Xtreme1GetUploadUrlOperator, Xtreme1PutArchiveOperator
from airflow_provider_xtreme1.sample_data import make_sample_dataset


@pytest.fixture
def dataset(emu, tmp_path) -> dict[str, Any]:
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    with Xtreme1Hook() as hook:
        return hook.create_dataset(f"handover-{tmp_path.name[-20:]}", "LIDAR_BASIC")


def put(dataset: dict[str, Any], folder: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    target, _ = run_task(
        Xtreme1GetUploadUrlOperator(task_id="url", dataset_id=dataset["id"], file_name="s.zip")
    )
    written, _ = run_task(
        Xtreme1PutArchiveOperator(
            task_id="put",
            presigned_url=target["presigned_url"],
            access_url=target["access_url"],
            source=str(folder),
            dataset_id=dataset["id"],
            progress_interval=-1,
            **kwargs,
        )
    )
    return target, written


def importer(dataset: dict[str, Any], written: dict[str, Any], **kwargs: Any) -> Xtreme1ImportDatasetOperator:
    kwargs.setdefault("expected_object", written)
    return Xtreme1ImportDatasetOperator(
        task_id="import",
        dataset_id=dataset["id"],
        file_url=written["access_url"],
        wait_for_completion=False,
        **kwargs,
    )


def test_put_returns_what_it_wrote_and_the_import_checks_it(emu, dataset, tmp_path):
    folder = make_sample_dataset(tmp_path / "s", "LIDAR_BASIC", items=2)
    _, written = put(dataset, folder)
    assert written["bytes"] > 0 and written["etag"] == written["md5"] and written["warnings"] == []

    result, _ = run_task(importer(dataset, written))
    assert isinstance(result["serial_number"], str)
    assert len(request_paths(emu, "POST", "/data/upload")) == 1
    # the GET-signed accessUrl is refused for HEAD (as by MinIO); its first byte is asked for instead,
    # through the server's /minio/ route, with no token
    looks = [r for r in emu.storage_log if r["method"] in ("HEAD", "GET")]
    assert [r["method"] for r in looks[-2:]] == ["HEAD", "GET"]
    assert looks[-2]["status"] == 403 and looks[-1]["status"] == 206
    assert looks[-1]["headers"].get("Range") == "bytes=0-0"


def test_a_replaced_archive_is_not_imported(emu, dataset, tmp_path):
    folder = make_sample_dataset(tmp_path / "s", "LIDAR_BASIC", items=2)
    target, written = put(dataset, folder)
    # someone who read the XCom puts other bytes at the same key
    httpx.put(target["presigned_url"], content=b"PK\x05\x06" + bytes(18)).raise_for_status()

    with pytest.raises(Xtreme1StorageError, match="not the archive PutArchive uploaded") as info:
        run_task(importer(dataset, written))
    assert "its size is 22 bytes, PutArchive wrote" in str(info.value)
    signature = written["access_url"].rpartition("X-Amz-Signature=")[2][:64]
    assert len(signature) == 64 and signature not in str(info.value)
    assert request_paths(emu, "POST", "/data/upload") == []


def test_same_size_other_bytes_is_caught_by_the_etag(emu, dataset, tmp_path):
    folder = make_sample_dataset(tmp_path / "s", "LIDAR_BASIC", items=1)
    target, written = put(dataset, folder)
    httpx.put(target["presigned_url"], content=b"x" * written["bytes"]).raise_for_status()
    with pytest.raises(
        Xtreme1StorageError, match=f"its ETag is [0-9a-f]{{32}}, PutArchive got {written['etag']}"
    ):
        run_task(importer(dataset, written))
    assert request_paths(emu, "POST", "/data/upload") == []


def test_single_arguments_templated_as_text(emu, dataset, tmp_path):
    folder = make_sample_dataset(tmp_path / "s", "LIDAR_BASIC", items=1)
    _, written = put(dataset, folder)
    with pytest.raises(Xtreme1StorageError, match="PutArchive wrote 7"):
        run_task(importer(dataset, written, expected_object=None, expected_size="7"))
    result, _ = run_task(importer(dataset, written, expected_object=str(written)))
    assert result["serial_number"]


def test_put_archive_refuses_unread_files_unless_allowed(emu, dataset, tmp_path):
    folder = make_sample_dataset(tmp_path / "s", "LIDAR_BASIC", items=2)
    (folder / "notes.txt").write_text("drive 0412")
    with pytest.raises(Xtreme1ValidationError, match=r"s/: the server does not read the 1 file\(s\) here"):
        put(dataset, folder)
    assert not [r for r in emu.storage_log if r["method"] == "PUT"]
    _, written = put(dataset, folder, allow_unread_files="True")
    assert any("notes.txt" in w for w in written["warnings"])


def test_reachable_url():
    internal = "http://minio:9000/xtreme1/1/2/abc/s.zip?X-Amz-Signature=f00"
    assert reachable_url(internal, "https://x1.example:8190/api") == (
        "https://x1.example:8190/minio/xtreme1/1/2/abc/s.zip?X-Amz-Signature=f00"
    )
    lake = "https://lake.example/bucket/s.zip?sig=1"
    assert reachable_url(lake, "https://x1.example:8190/api") == lake
    assert reachable_url(internal, "") == internal  # source="URL": the URL as given
