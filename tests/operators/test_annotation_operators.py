"""Split, mark invalid/valid and the model-run gate, run by ``dag.test()`` against the emulator."""

from __future__ import annotations

import pytest
from annotation_kit import fresh_dataset
from operator_helpers import run_task
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.emulator.faults import Fault
from airflow_provider_xtreme1.operators.annotation import (
    Xtreme1MarkDataOperator,
    Xtreme1ModelRunGateOperator,
    Xtreme1SplitOperator,
)
from airflow_provider_xtreme1.operators.models import Xtreme1RunModelOperator

IMAGE_MODEL = "IMAGE_DETECTION"


@pytest.fixture
def hook(emu):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    return Xtreme1Hook()


def splits_of(hook, dataset_id: int) -> dict[int, str]:
    return {int(d["id"]): d["splitType"] for d in hook.find_data(dataset_id, page_size=100)["list"]}


# ------------------------------------------------------------------------------------------- split


def test_split_by_ratio(emu, dagbag, tmp_path, hook):
    dataset = fresh_dataset(emu, tmp_path, items=5)
    run, _ = run_dag(dagbag.get_dag("xtreme1_test_annotation_split"), conf={"dataset_id": dataset["id"]})
    assert run.state == "success"
    result = xcom(run, "split")
    expected = {"TRAINING": 3, "VALIDATION": 1, "TEST": 1}
    assert result["planned"] == expected
    assert result["counts"] == {**expected, "NOT_SPLIT": 0}
    # the server's "random" split is in id order
    ids = dataset["data_ids"]
    assert splits_of(hook, dataset["id"]) == dict(
        zip(ids, ["TRAINING"] * 3 + ["VALIDATION", "TEST"], strict=True)
    )


def test_split_by_ids(emu, dagbag, tmp_path, hook):
    dataset = fresh_dataset(emu, tmp_path, items=3)
    a, b, c = dataset["data_ids"]
    run, _ = run_dag(
        dagbag.get_dag("xtreme1_test_annotation_split"),
        conf={"dataset_id": dataset["id"]},
        split={
            "training": None,
            "validation": None,
            "test": None,
            "splits": {"TRAINING": [a, b], "TEST": [c]},
        },
    )
    assert run.state == "success"
    assert xcom(run, "split")["counts"] == {"TRAINING": 2, "VALIDATION": 0, "TEST": 1, "NOT_SPLIT": 0}
    assert splits_of(hook, dataset["id"]) == {a: "TRAINING", b: "TRAINING", c: "TEST"}


def test_split_refuses_a_split_left_empty_before_sending(emu, tmp_path, hook):
    dataset = fresh_dataset(emu, tmp_path, items=3)
    split = Xtreme1SplitOperator(task_id="s", dataset_id=dataset["id"], training=50, validation=40, test=10)
    with pytest.raises(ValueError, match=r"leaves TEST empty .*'TRAINING': 2, 'VALIDATION': 1, 'TEST': 0"):
        run_task(split)
    assert set(splits_of(hook, dataset["id"]).values()) == {"NOT_SPLIT"}
    split.allow_empty = True
    result, _ = run_task(split)
    assert result["counts"] == {"TRAINING": 2, "VALIDATION": 1, "TEST": 0, "NOT_SPLIT": 0}


def test_split_of_unknown_ids_fails_naming_them(emu, tmp_path, hook):
    dataset = fresh_dataset(emu, tmp_path, items=1)
    split = Xtreme1SplitOperator(
        task_id="s", dataset_id=dataset["id"], splits={"TEST": [dataset["data_ids"][0], 999999]}
    )
    with pytest.raises(ValueError, match=r"has no data with ids \[999999\]"):
        run_task(split)
    assert set(splits_of(hook, dataset["id"]).values()) == {"NOT_SPLIT"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"training": 0, "validation": 50, "test": 50}, "training must be a whole percentage from 1 to 100"),
        ({"training": 60, "validation": 30, "test": 20}, "must add up to 100"),
        ({"training": 60, "validation": 20, "test": 20, "total": 101}, "total must be a whole percentage"),
        ({"training": 60, "validation": 20}, "give training, validation and test"),
        ({"training": 60, "validation": 20, "test": 20, "splits": {"TEST": [1]}}, "not both"),
        ({"splits": {"HOLDOUT": [1]}}, "unknown split type 'HOLDOUT'"),
        ({"splits": {"TEST": [1], "TRAINING": [1]}}, "data id 1 is in both TEST and TRAINING"),
        (
            {"training": 60, "validation": 20, "test": 20, "splitting_by": "SHUFFLE"},
            "splitting_by must be one of",
        ),
    ],
)
def test_split_bad_arguments(emu, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_task(Xtreme1SplitOperator(task_id="s", dataset_id=1, **kwargs))


def test_split_of_an_unknown_dataset(emu):
    from airflow_provider_xtreme1.exceptions import Xtreme1NotFoundError

    with pytest.raises(Xtreme1NotFoundError):
        run_task(Xtreme1SplitOperator(task_id="s", dataset_id=987654, training=60, validation=20, test=20))


# -------------------------------------------------------------------------------------- data flow


def test_mark_invalid_then_valid(emu, dagbag, tmp_path, hook):
    dataset = fresh_dataset(emu, tmp_path, items=3)
    ids = dataset["data_ids"]
    run, _ = run_dag(
        dagbag.get_dag("xtreme1_test_annotation_mark"),
        conf={"dataset_id": dataset["id"], "data_ids": ids[:2]},
    )
    assert run.state == "success"
    assert xcom(run, "mark")["status"] == {str(i): "INVALID" for i in ids[:2]}
    assert hook.get_data_statistics(dataset["id"])["invalidCount"] == 2
    assert hook.get_lock_records(dataset["id"]) == []  # the lock was released
    result, _ = run_task(
        Xtreme1MarkDataOperator(task_id="m", dataset_id=dataset["id"], data_ids=ids[:1], valid=True)
    )
    assert result["status"] == {str(ids[0]): "ANNOTATED"}
    assert hook.get_lock_records(dataset["id"]) == []


def test_mark_refuses_items_someone_is_editing_and_releases_its_lock(emu, tmp_path, hook):
    from airflow_provider_xtreme1.exceptions import Xtreme1Error

    dataset = fresh_dataset(emu, tmp_path, items=3)
    ids = dataset["data_ids"]
    emu.lock(ids[1:2], user="bob")
    with pytest.raises(
        Xtreme1Error, match=rf"data \[{ids[1]}\] of dataset {dataset['id']} is being annotated"
    ):
        run_task(Xtreme1MarkDataOperator(task_id="m", dataset_id=dataset["id"], data_ids=ids[:2]))
    assert [r["lockedBy"] for r in hook.get_lock_records(dataset["id"])] == ["bob"]
    assert {d["annotationStatus"] for d in hook.get_data_status(ids)} == {"NOT_ANNOTATED"}


def test_mark_releases_the_lock_when_the_server_fails_midway(emu, tmp_path, hook):
    from airflow_provider_xtreme1.exceptions import Xtreme1Error

    dataset = fresh_dataset(emu, tmp_path, items=2)
    emu.inject(Fault(path=r"^/api/data/flow/submit/", kind="envelope", status=200, times=1))
    with pytest.raises(Xtreme1Error):
        run_task(Xtreme1MarkDataOperator(task_id="m", dataset_id=dataset["id"], data_ids=dataset["data_ids"]))
    assert hook.get_lock_records(dataset["id"]) == []
    unlocks = [r for r in emu.request_log if r["path"].startswith("/api/data/unLock/")]
    assert len(unlocks) == 1


@pytest.mark.parametrize(
    ("data_ids", "message"),
    [
        ([], "must name at least one data id"),
        (["x"], "must be an integer id"),
        ([987654], r"no live item with ids \[987654\]"),
    ],
)
def test_mark_bad_ids(emu, tmp_path, data_ids, message):
    dataset = fresh_dataset(emu, tmp_path, items=1)
    with pytest.raises(ValueError, match=message):
        run_task(Xtreme1MarkDataOperator(task_id="m", dataset_id=dataset["id"], data_ids=data_ids))


# ------------------------------------------------------------------------------------------- gate


@pytest.fixture
def model_run(emu, tmp_path):
    """An IMAGE dataset (2 items) pre-labelled by the image model; returns (dataset, run id)."""
    emu.step_delay = 0.01
    dataset = fresh_dataset(emu, tmp_path, items=2)
    result, _ = run_task(
        Xtreme1RunModelOperator(
            task_id="run_model",
            dataset_id=dataset["id"],
            model=IMAGE_MODEL,
            deferrable=False,
            poll_interval=0.1,
        )
    )
    assert result["status"] == "SUCCESS"
    return dataset, result["run_id"]


def metrics(**values: str) -> list[dict[str, str]]:
    return [{"name": k, "value": v, "description": ""} for k, v in values.items()]


@pytest.mark.parametrize(
    ("stored", "on_missing", "passed"),
    [
        (metrics(precision="0.91", recall="0.40"), "fail", True),
        (metrics(precision="0.75"), "fail", False),
        (None, "fail", False),
        (None, "pass", True),
        (metrics(recall="0.9"), "fail", False),  # the metric named in the thresholds is missing
        (metrics(precision="n/a"), "pass", True),
    ],
)
def test_gate_fail_mode(emu, dagbag, model_run, stored, on_missing, passed, capfd):
    dataset, run_id = model_run
    emu.set_run_metrics(run_id, stored)
    run, _ = run_dag(
        dagbag.get_dag("xtreme1_test_annotation_gate"),
        conf={"dataset_id": dataset["id"], "run_id": run_id},
        gate={"on_missing": on_missing},
    )
    assert run.state == ("success" if passed else "failed")
    gate = xcom(run, "gate", key="gate")
    assert gate["passed"] is passed and gate["run_id"] == str(run_id)
    assert gate["class_statistics"]["classUnits"], "the model's objects are counted"
    if not passed:
        assert f"model run {run_id} did not pass the gate" in capfd.readouterr().out


@pytest.mark.parametrize(
    ("recall", "taken", "skipped"), [("0.6", "accept", "reject"), ("0.2", "reject", "accept")]
)
def test_gate_branch_mode(emu, dagbag, model_run, recall, taken, skipped):
    dataset, run_id = model_run
    emu.set_run_metrics(run_id, metrics(precision="0.95", recall=recall))
    run, tis = run_dag(
        dagbag.get_dag("xtreme1_test_annotation_gate_branch"),
        conf={"dataset_id": dataset["id"], "run_id": run_id},
    )
    assert run.state == "success"
    assert (tis[taken].state, tis[skipped].state) == ("success", "skipped")
    assert xcom(run, "gate", key="gate")["metrics"] == {"precision": 0.95, "recall": float(recall)}


def test_gate_of_an_unknown_run(emu, model_run):
    from airflow_provider_xtreme1.exceptions import Xtreme1Error

    dataset, _ = model_run
    with pytest.raises(Xtreme1Error, match=f"dataset {dataset['id']} has no model run 987654"):
        run_task(Xtreme1ModelRunGateOperator(task_id="g", dataset_id=dataset["id"], run_id=987654))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"on_missing": "ignore"}, "on_missing must be 'fail' or 'pass'"),
        ({"pass_branch": "a"}, "give both pass_branch and fail_branch"),
        ({"thresholds": {"precision": "high"}}, r"thresholds\['precision'\] must be a number"),
    ],
)
def test_gate_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Xtreme1ModelRunGateOperator(task_id="g", dataset_id=1, run_id=2, **kwargs)
