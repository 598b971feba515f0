"""The upload operators and the import sensor, run by real Airflow (``dag.test()``) against the emulator."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.emulator import Fault
from airflow_provider_xtreme1.sample_data import make_sample_dataset

# items at the root + frames in scenes, as the emulator's parser counts them (and as the real server does)
TYPES = {
    "LIDAR_FUSION": dict(items=2, scenes=1, total=4, roots=3),
    "LIDAR_BASIC": dict(items=3, scenes=0, total=3, roots=3),
    "IMAGE": dict(items=3, scenes=1, total=6, roots=4),
    "TEXT": dict(items=2, scenes=0, total=2, roots=None),
}


@pytest.fixture
def hook(emu):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    with Xtreme1Hook() as hook:
        yield hook


def uploads(emu) -> list[dict]:
    return [r for r in emu.request_log if r["method"] == "POST" and r["path"] == "/api/data/upload"]


def failure_log(capfd) -> str:
    out, err = capfd.readouterr()
    return out + err


@pytest.mark.parametrize("dataset_type", list(TYPES))
def test_one_task_upload_of_each_dataset_type(emu, dagbag, hook, tmp_path, dataset_type):
    shape = TYPES[dataset_type]
    with_results = dataset_type != "TEXT"
    source = make_sample_dataset(
        tmp_path / "src",
        dataset_type,
        items=shape["items"],
        scenes=shape["scenes"],
        with_results=with_results,
    )
    name = f"one-task-{dataset_type.lower()}"
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_upload_one_task"),
        conf={
            "source": str(source),
            "dataset_name": name,
            "dataset_type": dataset_type,
            "result_type": "GROUND_TRUTH" if with_results else "",
        },
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    result = xcom(run, "upload")
    assert result["status"] == "PARSE_COMPLETED"
    assert result["total_data_num"] == shape["total"]
    assert xcom(run, "upload", key="serial_numbers") == [result["serial_number"]]

    dataset_id = xcom(run, "ensure_dataset")
    page = hook.find_data(dataset_id, page_size=100)
    if shape["roots"] is not None:
        assert page["total"] == shape["roots"]
    if with_results:
        frames = [d for d in page["list"] if d.get("type") != "SCENE"]
        annotations = hook.get_raw_annotations([d["id"] for d in frames])
        objects = [o for a in annotations for o in a["objects"]]
        assert objects and all(str(o["sourceId"]) == "-1" for o in objects)
    # the folder was streamed as a zip: one PUT, with a Content-Length and no bearer header
    puts = [r for r in emu.storage_log if r["method"] == "PUT"]
    assert len(puts) == 1 and int(puts[0]["headers"]["Content-Length"]) == puts[0]["bytes"]


def test_import_steps_with_folder_streamed_and_sensor(emu, dagbag, tmp_path):
    source = make_sample_dataset(tmp_path / "src", "LIDAR_FUSION", items=3)
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(source), "dataset_name": "steps", "result_type": "GROUND_TRUTH"},
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    imported = xcom(run, "import_dataset")
    assert imported["status"] == "PARSE_COMPLETED" and imported["total_data_num"] == 3
    assert xcom(run, "wait_again")[0]["serial_number"] == imported["serial_number"]
    put = xcom(run, "put_archive")
    assert put["bytes"] > 0 and put["access_url"].startswith("http://minio:9000/xtreme1/")
    assert not list(tmp_path.glob("**/*.partial-*")), "no temporary file is left behind"


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_sensor_modes(emu, dagbag, tmp_path, mode):
    emu.step_delay = 0.3
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=2)
    overrides = {"wait_for_completion": False}
    sensor = {"mode": "reschedule" if mode == "reschedule" else "poke", "deferrable": mode == "deferrable"}
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(source), "dataset_name": f"sensor-{mode}", "dataset_type": "LIDAR_BASIC"},
        import_dataset=overrides,
        wait_again=sensor,
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert xcom(run, "import_dataset")["status"] is None  # returned without waiting
    assert xcom(run, "wait_again")[0]["status"] == "PARSE_COMPLETED"
    polls = [r for r in emu.request_log if r["path"] == "/api/data/findUploadRecordBySerialNumbers"]
    assert len(polls) >= 2, "the sensor really polled"


def test_deferrable_import_operator(emu, dagbag, tmp_path):
    emu.step_delay = 0.2
    source = make_sample_dataset(tmp_path / "src", "IMAGE", items=2)
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(source), "dataset_name": "deferred-import", "dataset_type": "IMAGE"},
        import_dataset={"deferrable": True},
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert xcom(run, "import_dataset")["status"] == "PARSE_COMPLETED"
    # the extra link, evaluated when the resumed task ends, still points at the dataset
    dataset_id = xcom(run, "ensure_dataset")
    for task_id in ("ensure_dataset", "import_dataset"):
        link = xcom(run, task_id, key="_link_Xtreme1DatasetLink")
        assert link == f"{emu.url}/#/datasets/data?id={dataset_id}", task_id


def test_retry_reattaches_to_the_started_import(emu, dagbag, tmp_path, capfd):
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=2)
    # The first status poll fails with a non-retryable server error: the first try fails after the
    # import has started. The retry must wait on that import, not start a second one.
    emu.inject(
        Fault(path=r"^/api/data/findUploadRecordBySerialNumbers$", kind="envelope", status=500, times=1)
    )
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(source), "dataset_name": "reattach", "dataset_type": "LIDAR_BASIC"},
        retries=0,
        import_dataset={"retries": 1, "retry_delay": timedelta(0)},
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert tis["import_dataset"].try_number == 2
    assert len(uploads(emu)) == 1, "the retry imported a second time"
    assert "Re-attaching to Xtreme1 import" in failure_log(capfd)


def test_stalled_import_fails_naming_the_status(emu, dagbag, tmp_path, capfd):
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=2)
    emu.inject(Fault(path=r"^/api/data/upload$", kind="stall", stall_at="DOWNLOADING"))
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(source), "dataset_name": "stalled", "dataset_type": "LIDAR_BASIC"},
        import_dataset={"stall_timeout": 1.0},
    )
    assert run.state == "failed"
    assert tis["import_dataset"].state == "failed"
    assert "stalled at DOWNLOADING" in failure_log(capfd)


def test_import_timeout(emu, dagbag, tmp_path, capfd):
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=2)
    emu.inject(Fault(path=r"^/api/data/upload$", kind="stall", stall_at="PARSING"))
    _, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(source), "dataset_name": "timeout", "dataset_type": "LIDAR_BASIC"},
        import_dataset={"timeout": 1.0, "deferrable": True},
    )
    assert tis["import_dataset"].state == "failed"
    assert "did not finish in time" in failure_log(capfd)


def test_bad_layout_fails_in_pack_before_any_upload(emu, dagbag, tmp_path, capfd):
    source = tmp_path / "not-a-dataset"
    (source / "pointclouds").mkdir(parents=True)
    (source / "pointclouds" / "000001.pcd").write_text("VERSION .7\n")
    before = sorted(p.name for p in source.rglob("*"))
    _, tis = run_dag(
        dagbag.get_dag("xtreme1_ingest"),
        conf={"source_folder": str(source), "dataset_name": "bad-layout", "work_dir": str(tmp_path / "out")},
    )
    assert tis["pack"].state == "failed"
    assert tis["put_archive"].state == "upstream_failed"
    log = failure_log(capfd)
    assert "lidar_point_cloud_" in log
    assert "XCom not found" not in log, "the dataset link looked for an XCom the failed task never pushed"
    assert not [r for r in emu.storage_log if r["method"] == "PUT"]
    assert sorted(p.name for p in source.rglob("*")) == before, "the user's folder was changed"


def test_failed_import_reports_the_server_message(emu, dagbag, tmp_path, capfd):
    source = tmp_path / "loose-images"
    make_sample_dataset(source, "IMAGE", items=2)
    # Images outside image_<digit>/ are not imported by the server: the import fails.
    for png in (source / "image_0").iterdir():
        png.rename(source / png.name)
    (source / "image_0").rmdir()
    _, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(_zip(source, tmp_path)), "dataset_name": "loose", "dataset_type": "IMAGE"},
    )
    assert tis["put_archive"].state == "failed", "a layout the server rejects must not be uploaded"
    assert "image_" in failure_log(capfd)


def _zip(folder, tmp_path):
    import shutil

    return shutil.make_archive(str(tmp_path / "loose"), "zip", folder)


def test_a_dataset_name_longer_than_the_column_fails_before_any_request(emu, dagbag, tmp_path, capfd):
    # dataset.name is varchar(255): the server answers a longer name with HTTP 500 "Data too long".
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=1)
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_import_steps"),
        conf={"source": str(source), "dataset_name": "n" * 300, "dataset_type": "LIDAR_BASIC"},
    )
    assert run.state == "failed" and tis["ensure_dataset"].state == "failed"
    assert "name is 300 characters long" in failure_log(capfd)
    assert not [r for r in emu.request_log if r["path"].startswith("/api/dataset/")]


def test_import_wait_logs_items_and_bytes_and_ends_with_a_summary(emu, dagbag, tmp_path, capfd):
    emu.step_delay = 0.3
    source = make_sample_dataset(tmp_path / "src", "LIDAR_BASIC", items=3, with_results=False)
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_upload_one_task"),
        conf={"source": str(source), "dataset_name": "progress-log", "dataset_type": "LIDAR_BASIC"},
        upload={"poll_interval": 0.1},
    )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    log = failure_log(capfd)
    serial = xcom(run, "upload")["serial_number"]
    assert re.search(rf"import still running: {serial}: \w+, .*\d+(\.\d)? KiB of \d+\.\d KiB downloaded", log)
    assert re.search(rf"import still running: {serial}: PARSING, \d of 3 items parsed", log)
    assert f"Xtreme1 import {serial}: imported 3 of 3 items (0 warnings)." in log
