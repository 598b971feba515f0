"""Data queries and guarded clean-up against the emulator: dry runs change nothing, locked items are
reported and deleted around, results above the XCom limit go to a file."""

from __future__ import annotations

import json

import pytest
from conftest import make_dataset
from operator_helpers import request_paths, run_task

from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError
from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook
from airflow_provider_xtreme1.operators.data import (
    Xtreme1DeleteDataOperator,
    Xtreme1DeleteDatasetOperator,
    Xtreme1QueryDataOperator,
)


@pytest.fixture
def dataset(emu, tmp_path_factory) -> dict:
    """A fresh LIDAR_FUSION dataset: 3 root frames and one scene."""
    ds = make_dataset(tmp_path_factory, emu, "LIDAR_FUSION", items=3, scenes=1, cameras=1)
    with Xtreme1Hook() as hook:
        roots = hook.find_data(ds["id"], page_size=100)["list"]
    scene = next(d for d in roots if d["type"] == "SCENE")
    with Xtreme1Hook() as hook:
        frames = hook.find_data(ds["id"], page_size=100, parent_id=scene["id"])["list"]
    yield {**ds, "roots": roots, "scene": scene, "frames": frames}
    emu.unlock(user="bob")
    emu.unlock(user="carol")


def root_ids(dataset_id: int) -> list[int]:
    with Xtreme1Hook() as hook:
        return sorted(d["id"] for d in hook.find_data(dataset_id, page_size=100)["list"])


def query(dataset_id: int, **kwargs) -> Xtreme1QueryDataOperator:
    return Xtreme1QueryDataOperator(task_id="query", dataset_id=dataset_id, **kwargs)


def test_a_small_result_goes_to_xcom_a_large_one_to_a_file(emu, dataset, tmp_path):
    result, _ = run_task(query(dataset["id"]))
    assert result["count"] == 4 and {i["id"] for i in result["items"]} == {d["id"] for d in dataset["roots"]}
    assert all("content" not in i for i in result["items"])  # file URLs stay out of XCom
    frames, _ = run_task(query(dataset["id"], parent_id=dataset["scene"]["id"]))
    assert frames["count"] == len(dataset["frames"]) >= 2
    named, _ = run_task(query(dataset["id"], name=dataset["roots"][0]["name"]))
    assert [i["id"] for i in named["items"]] == [dataset["roots"][0]["id"]]

    target = tmp_path / "out" / "items.jsonl"
    op = query(dataset["id"], xcom_limit=2, batch_size=3, destination=str(target))
    big, _ = run_task(op)
    assert big == {"count": 4, "uri": str(target)}
    lineage = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("file", str(target))]
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert sorted(i["id"] for i in lines) == root_ids(dataset["id"])
    with pytest.raises(Xtreme1ConfigError, match="more than xcom_limit=2: give a destination"):
        run_task(query(dataset["id"], xcom_limit=2))


def test_confidence_filters_are_refused_before_any_request(emu, dataset):
    before = len(emu.request_log)
    with pytest.raises(Xtreme1ConfigError, match="cannot filter data items by model-run confidence"):
        run_task(query(dataset["id"], min_confidence=0.5))
    assert emu.request_log[before:] == []


def test_a_dry_run_changes_nothing(emu, dataset):
    ids = [d["id"] for d in dataset["roots"]][:2]
    result, _ = run_task(Xtreme1DeleteDataOperator(task_id="delete", dataset_id=dataset["id"], data_ids=ids))
    assert result["dry_run"] and result["deleted"] == 0 and sorted(result["data_ids"]) == sorted(ids)
    assert request_paths(emu, "POST", "/data/deleteBatch") == []
    assert len(root_ids(dataset["id"])) == 4


def test_locked_items_are_reported_and_the_rest_deleted(emu, dataset):
    frames = [d for d in dataset["roots"] if d["type"] != "SCENE"]
    held = frames[0]["id"]
    emu.lock([held], user="bob")
    emu.lock([dataset["frames"][0]["id"]], user="carol")  # a frame holds its scene
    everything = [d["id"] for d in dataset["roots"]]
    result, _ = run_task(
        Xtreme1DeleteDataOperator(
            task_id="delete",
            dataset_id=dataset["id"],
            data_ids=everything,
            confirm_delete=True,
            batch_size=10,
        )
    )
    assert sorted(result["locked"]) == sorted([held, dataset["scene"]["id"]])
    assert request_paths(emu, "POST", "/data/deleteBatch") and all(
        r["status"] == 200 for r in request_paths(emu, "POST", "/data/deleteBatch")
    )
    assert result["deleted"] == 2 and not result["dry_run"]
    assert root_ids(dataset["id"]) == sorted([held, dataset["scene"]["id"]])


def test_delete_by_filter_and_no_selection_is_refused(emu, dataset):
    name = dataset["roots"][0]["name"]
    result, _ = run_task(
        Xtreme1DeleteDataOperator(
            task_id="delete", dataset_id=dataset["id"], name=name, confirm_delete="true"
        )
    )
    assert result["deleted"] == 1 and dataset["roots"][0]["id"] not in root_ids(dataset["id"])
    with pytest.raises(Xtreme1ConfigError, match="Give data_ids or at least one filter"):
        run_task(Xtreme1DeleteDataOperator(task_id="delete", dataset_id=dataset["id"], confirm_delete=True))


def test_deleting_a_dataset_is_a_dry_run_first_and_refused_while_locked(emu, dataset):
    dataset_id = dataset["id"]
    dry, _ = run_task(Xtreme1DeleteDatasetOperator(task_id="drop", dataset_id=dataset_id))
    assert dry["dry_run"] and dry["items"] == 4 and dry["deleted"] is False
    assert request_paths(emu, "POST", f"/dataset/delete/{dataset_id}") == []
    emu.lock([dataset["roots"][0]["id"]], user="bob")
    with pytest.raises(Xtreme1ConfigError, match="are being annotated"):
        run_task(Xtreme1DeleteDatasetOperator(task_id="drop", dataset_id=dataset_id, confirm_delete=True))
    assert request_paths(emu, "POST", f"/dataset/delete/{dataset_id}") == []
    emu.unlock(user="bob")
    emu.unlock(user="carol")
    done, _ = run_task(
        Xtreme1DeleteDatasetOperator(task_id="drop", dataset_id=dataset_id, confirm_delete=True)
    )
    assert done["deleted"] is True
    with Xtreme1Hook() as hook:
        assert hook.find_dataset_by_name(dataset["name"]) is None


def test_a_dry_run_reports_locked_items(emu, dataset):
    emu.lock([dataset["frames"][0]["id"]], user="carol")
    everything = [d["id"] for d in dataset["roots"]]
    result, _ = run_task(
        Xtreme1DeleteDataOperator(task_id="delete", dataset_id=dataset["id"], data_ids=everything)
    )
    assert result["locked"] == [dataset["scene"]["id"]] and len(result["data_ids"]) == 3
    assert request_paths(emu, "POST", "/data/deleteBatch") == []


def test_a_batch_refused_for_a_lock_taken_meanwhile_is_split_around_it(emu, dataset):
    """The lock is taken after the listing: the server refuses the batch, the task halves it."""
    op = Xtreme1DeleteDataOperator(
        task_id="delete", dataset_id=dataset["id"], data_ids=[1], confirm_delete=True
    )
    frames = [d["id"] for d in dataset["roots"] if d["type"] != "SCENE"]
    emu.lock([frames[1]], user="bob")
    deleted: list[int] = []
    locked: list[int] = []
    gone: list[int] = []
    op._delete(dataset["id"], frames, deleted, locked, gone)
    assert locked == [frames[1]] and sorted(deleted) == sorted([frames[0], frames[2]]) and gone == []
    refusals = [r for r in emu.request_log if r["path"] == "/api/data/deleteBatch"]
    assert len(refusals) > 2  # the whole batch, then its halves
    op._delete(dataset["id"], [frames[0]], deleted, locked, gone)
    assert gone == [frames[0]]  # already deleted: counted, not an error


def test_the_ontology_example_dag(emu, dagbag, tmp_path):
    from xtreme1_testing import run_dag, xcom

    from airflow_provider_xtreme1.sample_data import make_sample_dataset

    source = make_sample_dataset(tmp_path / "drive", "LIDAR_FUSION", items=2, cameras=1)
    ontology = tmp_path / "lidar.yaml"
    ontology.write_text(
        "classes:\n  - {name: Car, color: '#ff0000', toolType: CUBOID}\n"
        "  - {name: Pedestrian, color: '#00ff00', toolType: CUBOID}\n"
    )
    name = f"example-{tmp_path.name[-8:]}"
    conf = {"source_folder": str(source), "dataset_name": name, "ontology_file": str(ontology)}
    run, tis = run_dag(dagbag.get_dag("xtreme1_ontology"), conf=conf, upload={"poll_interval": 0.2})
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert xcom(run, "sync_ontology")["created"] == 2
    assert xcom(run, "upload")["reconciliation"]["ok"]
    assert xcom(run, "list_invalid") == {"count": 0, "items": []}
    assert xcom(run, "clean_invalid")["dry_run"] is True


def test_time_and_status_filters(emu, dataset):
    from datetime import datetime, timedelta, timezone

    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert run_task(query(dataset["id"], created_after=later))[0]["count"] == 0
    assert run_task(query(dataset["id"], created_before=later))[0]["count"] == 4
    assert run_task(query(dataset["id"], annotation_status="INVALID"))[0]["count"] == 0
    before = len(emu.request_log)
    with pytest.raises(ValueError, match="split_type must be one of"):
        run_task(query(dataset["id"], split_type="TRAIN"))
    assert emu.request_log[before:] == []
