"""The issue's repro through the operators: a near-miss folder fails before anything is uploaded, and with
``allow_unread_files`` it is uploaded with its warnings logged and returned."""

from __future__ import annotations

from pathlib import Path

import pytest
from operator_helpers import request_paths, run_task
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError
from airflow_provider_xtreme1.operators.upload import Xtreme1UploadDatasetOperator
from airflow_provider_xtreme1.sample_data import make_sample_dataset

DID_YOU_MEAN = "did you mean `lidar_point_cloud_0/`?"


def near_miss(folder: Path) -> Path:
    """``sample_data X --type LIDAR_FUSION --items 4 --scenes 1``, two folders renamed."""
    make_sample_dataset(folder, "LIDAR_FUSION", items=4, scenes=1)
    (folder / "lidar_point_cloud_0").rename(folder / "lidar_point_cloud")
    (folder / "camera_image_1").rename(folder / "camera_images_1")
    return folder


def puts(emu) -> list[dict]:
    return [r for r in emu.storage_log if r["method"] == "PUT"]


def test_upload_dataset_refuses_then_warns(emu, hook, tmp_path, capfd):
    dataset = hook.create_dataset(f"near-miss-{tmp_path.name[-16:]}", "LIDAR_FUSION")
    folder = near_miss(tmp_path / "X")
    upload = Xtreme1UploadDatasetOperator(
        task_id="upload",
        dataset_id=dataset["id"],
        source=str(folder),
        progress_interval=-1,
        poll_interval=0.1,
    )
    with pytest.raises(Xtreme1ValidationError) as info:
        run_task(upload)
    assert "X/lidar_point_cloud/: the server does not read the 4 file(s) here" in str(info.value)
    assert DID_YOU_MEAN in str(info.value) and "did you mean `camera_image_1/`?" in str(info.value)
    assert puts(emu) == [] and request_paths(emu, "POST", "/data/upload") == []

    upload.allow_unread_files = "true"  # as a template renders it
    result, ti = run_task(upload)
    assert result["status"] == "PARSE_COMPLETED"
    assert result["total_data_num"] == 4  # the scene's frames: the four root frames are not read
    assert any(DID_YOU_MEAN in w for w in result["layout_warnings"])
    assert ti.xcom["layout_warnings"] == result["layout_warnings"]
    assert DID_YOU_MEAN in "".join(capfd.readouterr())


@pytest.fixture
def hook(emu):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    with Xtreme1Hook() as hook:
        yield hook


def test_ingest_dag_pack_fails_unless_allowed(emu, dagbag, hook, tmp_path):
    folder = near_miss(tmp_path / "X")
    conf = {"source_folder": str(folder), "dataset_name": f"near-{tmp_path.name[-12:]}"}
    conf["work_dir"] = str(tmp_path / "out")
    run, tis = run_dag(dagbag.get_dag("xtreme1_ingest"), conf=conf)
    assert run.state == "failed" and tis["pack"].state == "failed"
    assert tis["put_archive"].state != "success" and puts(emu) == []
    assert not list((tmp_path / "out").glob("*.zip"))

    run, tis = run_dag(dagbag.get_dag("xtreme1_ingest"), conf={**conf, "allow_unread_files": True})
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    packed = xcom(run, "pack")
    assert (packed["items"], packed["scenes"]) == (4, 1)
    assert any(DID_YOU_MEAN in w for w in packed["warnings"])
    assert any("camera_images_1/" in w for w in xcom(run, "put_archive")["warnings"])
    dataset = hook.find_dataset_by_name(conf["dataset_name"])
    assert hook.find_data(dataset["id"], page_size=50)["total"] == 1  # one scene, no root frames
