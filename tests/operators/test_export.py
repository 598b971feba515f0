"""Xtreme1ExportOperator against the emulator: the archive, the checks made before starting, downloads."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from operator_helpers import request_paths, run_task
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.emulator.faults import Fault
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError
from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator


def export_operator(dataset_id: int, destination, **kwargs) -> Xtreme1ExportOperator:
    kwargs.setdefault("poll_interval", 0.1)
    kwargs.setdefault("progress_interval", -1)
    return Xtreme1ExportOperator(
        task_id="export", dataset_id=dataset_id, destination=destination, deferrable=False, **kwargs
    )


def archive_entries(path: str | Path) -> dict[str, object]:
    """The zip's entries (folder prefix removed), JSON parsed, plus the top folder under key ``/``."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        tops = {name.split("/", 1)[0] for name in names}
        assert len(tops) == 1, tops  # one top folder <dataset>-<yyyyMMddHHmmss>/
        top = tops.pop()
        entries = {
            name.split("/", 1)[1]: json.loads(zf.read(name)) for name in names if name.endswith(".json")
        }
    return {"/": top, **entries}


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_scheduled_export_dag_writes_ground_truth(emu, dagbag, lidar_dataset, tmp_path, deferrable):
    dag = dagbag.get_dag("xtreme1_export")
    run, tis = run_dag(
        dag,
        conf={"dataset_id": lidar_dataset["id"], "destination": f"file://{tmp_path}/exports"},
        export_ground_truth={"deferrable": deferrable, "poll_interval": 0.2},
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    result = xcom(run, "export_ground_truth")
    assert xcom(run, "export_ground_truth", key="serial_numbers") == [result["serial_number"]]
    path = Path(result["uri"])
    assert path.parent == tmp_path / "exports" and path.name.startswith(f"dataset-{lidar_dataset['id']}-")
    assert path.stat().st_size == result["bytes"] > 0
    assert result["file_name"].startswith(lidar_dataset["name"] + "-")
    assert not list(path.parent.glob("*.partial-*"))

    entries = archive_entries(path)
    assert entries["/"] == result["file_name"][: -len(".zip")]
    names = {"000001", "000002"}
    assert {k for k in entries if k.startswith("data/")} == {f"data/{n}.json" for n in names}
    assert {k for k in entries if k.startswith("scene_01/data/")} == {
        f"scene_01/data/{n}.json" for n in names
    }
    results = [v for k, v in entries.items() if "result/" in k]
    assert len(results) == 4
    assert all([source["sourceName"] for source in r] == ["Ground Truth"] for r in results)
    assert all(source["objects"] for r in results for source in r)
    # The task declares the DAG's Asset; its success emitted an event for it (downstream DAGs run on it).
    assert [a.name for a in dag.get_task("export_ground_truth").outlets] == ["xtreme1_ground_truth_exports"]
    assert asset_events(run, "xtreme1_ground_truth_exports") == 1


def asset_events(run, asset_name: str) -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return (
            session.query(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .filter(AssetModel.name == asset_name, AssetEvent.source_run_id == run.run_id)
            .count()
        )


def test_export_filters_by_data_ids_and_unpacks(emu, lidar_dataset, tmp_path):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    # The server lists scenes first (DataInfoMapper.xml orders by type DESC); take a single item.
    listed = Xtreme1Hook().find_data(lidar_dataset["id"], page_size=100)["list"]
    first = next(d for d in listed if d["type"] == "SINGLE_DATA")
    op = export_operator(
        lidar_dataset["id"], str(tmp_path / "one.zip"), data_ids=[first["id"]], unpack_to=tmp_path / "x"
    )
    result, ti = run_task(op)
    assert ti.xcom["serial_numbers"] == [result["serial_number"]]
    entries = archive_entries(result["uri"])
    assert sorted(k for k in entries if k != "/") == [
        f"data/{first['name']}.json",
        f"result/{first['name']}.json",
    ]
    unpacked = Path(result["unpacked_to"])
    assert unpacked.parent == tmp_path / "x"
    assert json.loads((unpacked / "data" / f"{first['name']}.json").read_text())["dataId"] == first["id"]
    export_calls = request_paths(emu, "GET", "/data/export")
    assert export_calls[0]["query"]["ids"] == [str(first["id"])]
    assert export_calls[0]["query"]["selectModelRunIds"] == ["-1"]


def test_coco_export_of_an_image_dataset(emu, image_dataset, tmp_path):
    # as a server built from HEAD with a working converter does (v0.9.1 never finishes, issue #295)
    emu.coco_export = "HEAD"
    try:
        result, _ = run_task(export_operator(image_dataset["id"], str(tmp_path) + "/", data_format="COCO"))
    finally:
        emu.coco_export = "v0.9.1"
    # a folder destination keeps the server's file name
    assert Path(result["uri"]) == tmp_path / result["file_name"]
    coco = archive_entries(result["uri"])["result/coco.json"]
    assert len(coco["images"]) == 3 and coco["annotations"]


def test_coco_export_of_a_v091_server_ends_as_stalled(emu, image_dataset, tmp_path):
    from airflow_provider_xtreme1.exceptions import Xtreme1JobStalledError

    op = export_operator(image_dataset["id"], tmp_path / "coco.zip", data_format="COCO", stall_timeout=1)
    with pytest.raises(Xtreme1JobStalledError, match=r"GENERATING"):
        run_task(op)


def test_coco_on_a_lidar_dataset_fails_before_starting(emu, lidar_dataset, tmp_path):
    op = export_operator(lidar_dataset["id"], tmp_path / "gt.zip", data_format="coco")
    with pytest.raises(Xtreme1ConfigError, match=r"COCO export needs an IMAGE dataset.*LIDAR_FUSION"):
        run_task(op)
    assert request_paths(emu, "GET", "/data/export") == []


def test_filters_matching_no_data_fail_before_starting(emu, lidar_dataset, tmp_path):
    # The server would accept this export and leave it GENERATING forever: should the guard break, the
    # task fails within a second on its own timeout / stall_timeout, not at pytest's.
    op = export_operator(
        lidar_dataset["id"], tmp_path / "gt.zip", split_type="TEST", timeout=1.0, stall_timeout=0.5
    )
    with pytest.raises(Xtreme1ConfigError, match=r"No data .* match the export filters.*GENERATING"):
        run_task(op)
    assert request_paths(emu, "GET", "/data/export") == []
    checks = request_paths(emu, "GET", "/data/findByPage")
    assert checks[-1]["query"]["splitType"] == ["TEST"] and checks[-1]["query"]["pageSize"] == ["1"]


def test_existing_destination_is_kept_unless_overwrite(emu, lidar_dataset, tmp_path):
    target = tmp_path / "gt.zip"
    target.write_bytes(b"keep me")
    with pytest.raises(Xtreme1ConfigError, match=r"already exists; pass overwrite=True"):
        run_task(export_operator(lidar_dataset["id"], f"file://{target}"))
    assert target.read_bytes() == b"keep me"
    assert request_paths(emu, "GET", "/data/export") == []

    result, _ = run_task(export_operator(lidar_dataset["id"], target, overwrite=True))
    assert result["uri"] == str(target) and zipfile.is_zipfile(target)


def test_refused_download_url_is_renewed_once(emu, lidar_dataset, tmp_path):
    emu.inject(Fault(path=r"^/minio/xtreme1/.*\.zip$", method="GET", kind="status", status=403, times=1))
    result, _ = run_task(export_operator(lidar_dataset["id"], tmp_path / "gt.zip"))
    assert zipfile.is_zipfile(result["uri"])
    gets = [r["status"] for r in emu.storage_log if r["method"] == "GET"]
    assert gets == [403, 200]
    polls = request_paths(emu, "GET", "/data/findExportRecordBySerialNumbers")
    assert len(polls) >= 2  # the wait, then one more poll for a freshly signed filePath


def test_uri_destinations_become_asset_outlets():
    from airflow.sdk import Asset, ObjectStoragePath

    def outlets(destination, **kwargs):
        return Xtreme1ExportOperator(task_id="t", dataset_id=1, destination=destination, **kwargs).outlets

    assert outlets("s3://aws_default@bucket/gt/a.zip") == [Asset("s3://bucket/gt/a.zip")]
    assert outlets(ObjectStoragePath("file:///data/gt.zip")) == [Asset("file:///data/gt.zip")]
    assert outlets("/data/gt.zip") == []
    assert outlets("s3://bucket/{{ ds }}.zip") == []
    mine = Asset(name="exports", uri="s3://bucket/exports")
    assert outlets("s3://bucket/{{ ds }}.zip", outlets=[mine]) == [mine]


def test_openlineage_facets_of_export_and_upload(emu, lidar_dataset, tmp_path):
    pytest.importorskip("airflow.providers.openlineage")
    from airflow_provider_xtreme1.operators.upload import (
        Xtreme1ImportDatasetOperator,
        Xtreme1PutArchiveOperator,
        Xtreme1UploadDatasetOperator,
    )

    host = emu.url.split("://", 1)[1]
    dataset = (f"xtreme1://{host}", f"datasets/{lidar_dataset['id']}")

    def names(datasets):
        return [(d.namespace, d.name) for d in datasets]

    op = export_operator(lidar_dataset["id"], tmp_path / "gt.zip")
    run_task(op)
    lineage = op.get_openlineage_facets_on_complete(None)
    assert names(lineage.inputs) == [dataset]
    assert names(lineage.outputs) == [("file", str(tmp_path / "gt.zip"))]

    imported = Xtreme1ImportDatasetOperator(
        task_id="i",
        dataset_id=lidar_dataset["id"],
        file_url="http://minio:9000/xtreme1/1/2/abc/set.zip?X-Amz-Signature=secret",
    ).get_openlineage_facets_on_complete(None)
    assert names(imported.inputs) == [("http://minio:9000", "/xtreme1/1/2/abc/set.zip")]
    assert names(imported.outputs) == [dataset]

    put = Xtreme1PutArchiveOperator(
        task_id="p", presigned_url="http://x/y?sig=1", source="/data/set.zip", dataset_id=lidar_dataset["id"]
    ).get_openlineage_facets_on_complete(None)
    assert names(put.inputs) == [("file", "/data/set.zip")] and names(put.outputs) == [dataset]

    uploaded = Xtreme1UploadDatasetOperator(
        task_id="u", dataset_id=lidar_dataset["id"], source="s3://aws_default@lake/sets/a.zip"
    ).get_openlineage_facets_on_complete(None)
    assert names(uploaded.inputs) == [("s3://lake", "sets/a.zip")] and names(uploaded.outputs) == [dataset]
