"""The sharded ingest DAG end to end against the emulator: shards uploaded and imported, a re-run that sends
nothing, a partly present dataset, a retried import that re-attaches, and bad input refused early."""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from xtreme1_testing import all_xcoms, numeric_serials, run_dag, start_import, xcom

from airflow_provider_xtreme1.archives.shards import plan_shards
from airflow_provider_xtreme1.emulator.faults import Fault
from airflow_provider_xtreme1.sample_data import make_sample_dataset

FAST = {"shard.import_shard": {"poll_interval": 0.2}}


@pytest.fixture
def sharded(dagbag):
    return dagbag.get_dag("xtreme1_sharded_ingest")


def imports(emu) -> list[dict]:
    return [r for r in emu.request_log if r["method"] == "POST" and r["path"] == "/api/data/upload"]


def puts(emu) -> list[dict]:
    return [r for r in emu.storage_log if r["method"] == "PUT"]


def drive(tmp_path: Path, name: str = "drive") -> tuple[Path, int]:
    """4 root frames and 3 scenes of 4 frames (16 items), and a shard size giving at least 3 shards."""
    folder = make_sample_dataset(tmp_path / name, "LIDAR_FUSION", items=4, scenes=3, cameras=1)
    whole = plan_shards(folder, "LIDAR_FUSION", "1GB").shards[0].size
    limit = whole // 3
    assert len(plan_shards(folder, "LIDAR_FUSION", limit).shards) >= 3
    return folder, limit


def conf(folder: Path, name: str, limit: int | str) -> dict:
    return {"source_folder": str(folder), "dataset_name": name, "max_shard_bytes": limit}


def tis_of(run, task_id: str) -> list:
    return sorted((ti for ti in run.get_task_instances() if ti.task_id == task_id), key=lambda t: t.map_index)


def test_the_dag_bounds_imports_in_flight(sharded):
    # the server works on two uploads at a time; deferred imports hold their slot (Airflow 3.3)
    assert sharded.get_task("shard.import_shard").max_active_tis_per_dagrun == 2
    assert sharded.get_task("shard.put_shard").max_active_tis_per_dagrun is None
    assert sharded.get_task("shard.import_shard").upstream_task_ids == {"shard.put_shard", "ensure_dataset"}
    assert sharded.get_task("reconcile_ingest").upstream_task_ids >= {"shard.import_shard", "plan_shards"}


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_shards_are_imported_then_a_rerun_sends_nothing(emu, sharded, tmp_path, deferrable):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    folder, limit = drive(tmp_path)
    name = f"sharded-{'deferred' if deferrable else 'sync'}"
    overrides = {"shard.import_shard": {"poll_interval": 0.2, "deferrable": deferrable}}
    run, _ = run_dag(sharded, conf=conf(folder, name, limit), **overrides)
    assert run.state == "success", {(t.task_id, t.map_index): t.state for t in run.get_task_instances()}

    plan = xcom(run, "plan_shards")
    count = len(plan)
    assert count >= 3 and [d["index"] for d in plan] == list(range(count))
    assert [t.state for t in tis_of(run, "shard.put_shard")] == ["success"] * count
    assert len(imports(emu)) == count and len(puts(emu)) == count
    hook = Xtreme1Hook()
    dataset = hook.find_dataset_by_name(name)
    assert hook.find_data(dataset["id"], page_size=50)["total"] == 4 + 3  # root frames and scenes

    report = xcom(run, "reconcile_ingest")
    assert report["ok"] is True
    assert (report["items_sent"], report["items_stored"], report["items_missing"]) == (16, 16, 0)
    assert (report["scenes_sent"], report["scenes_stored"]) == (3, 3)
    assert report["objects_sent"] == report["objects_stored"] > 0
    assert [s["shard"] for s in report["shards"]] == list(range(count))
    assert [s["items_sent"] for s in report["shards"]] == [d["items"] for d in plan]
    assert [s["items_stored"] for s in report["shards"]] == [d["items"] for d in plan]
    assert {s["status"] for s in report["shards"]} == {"PARSE_COMPLETED"}
    xcoms = all_xcoms(run)
    assert [f"{t}/{k}{p}" for (t, k), v in xcoms.items() for p in numeric_serials(v)] == []

    # The same run again: every shard finds its items in the dataset, sends nothing, imports nothing.
    sent_before, imported_before = len(puts(emu)), len(imports(emu))
    again, _ = run_dag(sharded, conf=conf(folder, name, limit), **overrides)
    assert again.state == "success"
    assert len(puts(emu)) == sent_before and len(imports(emu)) == imported_before
    report = xcom(again, "reconcile_ingest")
    assert report["ok"] is True and report["items_stored"] == 0
    assert report["items_skipped_duplicates"] == 16 and report["scenes_skipped_duplicates"] == 3
    assert {s["status"] for s in report["shards"]} == {"SKIPPED"}
    assert [s["skipped_items"] for s in report["shards"]] == [d["items"] for d in plan]
    assert hook.find_data(dataset["id"], page_size=50)["total"] == 7


def test_a_partly_present_dataset_gets_only_what_is_missing(emu, sharded, tmp_path):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    folder, limit = drive(tmp_path)
    # the dataset already holds root frames 1 and 2 and scene_02 (an earlier, interrupted ingest)
    part = tmp_path / "part" / folder.name
    shutil.copytree(folder, part)
    for sub in ("lidar_point_cloud_0", "camera_image_0", "camera_config", "result"):
        for stem in ("000003", "000004"):
            next((part / sub).glob(f"{stem}.*")).unlink()
    shutil.rmtree(part / "scene_01")
    shutil.rmtree(part / "scene_03")
    dataset, serial = start_import(part, "LIDAR_FUSION", name="sharded-partial")
    hook = Xtreme1Hook()
    for _ in range(400):
        if hook.get_upload_records([serial])[0]["status"] == "PARSE_COMPLETED":
            break
        time.sleep(0.05)
    assert hook.find_data(dataset["id"], page_size=50)["total"] == 3
    imported_before = len(imports(emu))
    stored_before = sum(r["bytes"] or 0 for r in puts(emu))

    run, _ = run_dag(sharded, conf=conf(folder, "sharded-partial", limit), **FAST)
    assert run.state == "success", {(t.task_id, t.map_index): t.state for t in run.get_task_instances()}
    sent = [xcom_of(run, "shard.put_shard", t.map_index) for t in tis_of(run, "shard.put_shard")]
    assert sum(s["skipped_items"] for s in sent) == 2 + 4
    assert sum(s["skipped_scenes"] for s in sent) == 1
    assert sum(s["items"] for s in sent) == 16 - 6
    # bytes sent now: only the missing frames and scenes, well under the whole folder
    sent_bytes = sum(r["bytes"] or 0 for r in puts(emu)) - stored_before
    assert sent_bytes == sum(s["bytes"] for s in sent)
    assert sent_bytes < sum(d["bytes"] for d in xcom(run, "plan_shards")) * 0.8
    assert len(imports(emu)) - imported_before == sum(1 for s in sent if s["sent"])
    report = xcom(run, "reconcile_ingest")
    assert report["ok"] is True
    assert (report["items_stored"], report["items_skipped_duplicates"], report["items_missing"]) == (10, 6, 0)
    assert hook.find_data(dataset["id"], page_size=50)["total"] == 7


def xcom_of(run, task_id: str, map_index: int):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(run_id=run.run_id, task_id=task_id, map_index=map_index, key="return_value")
            .one()
        )
        return XComModel.deserialize_value(row)


def test_a_retried_import_reattaches(emu, sharded, tmp_path, capfd):
    folder, limit = drive(tmp_path)
    # The first status poll fails with a server error: that import task fails after its import started.
    # Its retry must wait on that import, not start a second one.
    emu.inject(
        Fault(path=r"^/api/data/findUploadRecordBySerialNumbers$", kind="envelope", status=500, times=1)
    )
    run, _ = run_dag(
        sharded,
        conf=conf(folder, "sharded-retry", limit),
        **{"shard.import_shard": {"poll_interval": 0.2, "retries": 1, "retry_delay": timedelta(0)}},
    )
    assert run.state == "success", {(t.task_id, t.map_index): t.state for t in run.get_task_instances()}
    tries = [t.try_number for t in tis_of(run, "shard.import_shard")]
    assert sorted(tries)[-1] == 2, tries
    assert len(imports(emu)) == len(tries), "a retry imported a second time"
    report = xcom(run, "reconcile_ingest")
    assert report["ok"] is True
    # the retried task waited for its own import (it did not find it finished and skip it)
    assert {s["status"] for s in report["shards"]} == {"PARSE_COMPLETED"}
    assert len({s["serial_number"] for s in report["shards"]}) == len(tries)
    out, err = capfd.readouterr()
    assert "Re-attaching to Xtreme1 import" in out + err


def test_a_scene_larger_than_the_shard_limit_fails_before_any_request(emu, sharded, tmp_path, capfd):
    folder, _ = drive(tmp_path)
    run, _ = run_dag(sharded, conf=conf(folder, "sharded-too-small", "20KB"), **FAST)
    assert run.state == "failed"
    states = {t.task_id: t.state for t in run.get_task_instances()}
    assert states["plan_shards"] == "failed"
    assert states["reconcile_ingest"] == "upstream_failed"
    out, err = capfd.readouterr()
    assert "scene scene_01:" in out + err and "max_shard_bytes=20000" in out + err
    assert not puts(emu) and not imports(emu)
    assert not [r for r in emu.request_log if r["path"] == "/api/data/generatePresignedUrl"]


@pytest.mark.parametrize("dataset_type", ["TEXT", "IMAGE"])
def test_other_dataset_types_shard_and_rerun(emu, sharded, tmp_path, dataset_type):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    sample = {"items": 6} if dataset_type == "TEXT" else {"items": 5, "scenes": 1}
    folder = make_sample_dataset(tmp_path / "set", dataset_type, **sample)
    limit = int(plan_shards(folder, dataset_type, "1GB").shards[0].size * 0.6)
    name = f"sharded-{dataset_type.lower()}"
    result_type = None if dataset_type == "TEXT" else "GROUND_TRUTH"
    run_conf = {**conf(folder, name, limit), "dataset_type": dataset_type, "result_type": result_type}
    run, _ = run_dag(sharded, conf=run_conf, **FAST)
    assert run.state == "success", {(t.task_id, t.map_index): t.state for t in run.get_task_instances()}
    count = len(xcom(run, "plan_shards"))
    assert count >= 2 and len(imports(emu)) == count
    report = xcom(run, "reconcile_ingest")
    expected = 12 if dataset_type == "TEXT" else 10  # TEXT: two dialogue paths a file
    assert report["ok"] is True and report["items_stored"] == expected and report["items_missing"] == 0
    total = Xtreme1Hook().find_data(Xtreme1Hook().find_dataset_by_name(name)["id"], page_size=50)["total"]
    again, _ = run_dag(sharded, conf=run_conf, **FAST)
    assert again.state == "success" and len(imports(emu)) == count
    assert xcom(again, "reconcile_ingest")["items_skipped_duplicates"] == expected
    assert (
        Xtreme1Hook().find_data(Xtreme1Hook().find_dataset_by_name(name)["id"], page_size=50)["total"]
        == total
    )
