"""Xtreme1AnnotationSensor in poke, reschedule and deferrable mode, with simulated annotators at work."""

from __future__ import annotations

import time

import pytest
from annotation_kit import Annotators, after_first_look, fresh_dataset
from xtreme1_testing import run_dag, xcom

from airflow_provider_xtreme1.annotation_progress import AnnotationWatch, InvalidItems, Progress, Threshold
from airflow_provider_xtreme1.sensors.annotation import Xtreme1AnnotationSensor

MODES = {
    "poke": {"mode": "poke", "deferrable": False},
    "reschedule": {"mode": "reschedule", "deferrable": False},
    "deferrable": {"mode": "poke", "deferrable": True},
}


@pytest.fixture
def wait_dag(dagbag):
    return dagbag.get_dag("xtreme1_test_annotation_wait")


def stat_polls(emu, dataset_id: int) -> int:
    path = f"/api/dataset/{dataset_id}/statistics/dataStatus"
    return sum(1 for r in emu.request_log if r["path"] == path)


@pytest.mark.parametrize("mode", list(MODES))
def test_waits_until_annotators_finish(emu, wait_dag, tmp_path, mode, capfd):
    dataset = fresh_dataset(emu, tmp_path, items=4)
    with Annotators(emu, dataset["data_ids"], delay=0.6, pace=0.3, dataset_id=dataset["id"]) as annotators:
        run, tis = run_dag(
            wait_dag, conf={"dataset_id": dataset["id"]}, wait_for_annotators={**MODES[mode], "timeout": 60}
        )
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert not annotators.is_alive()
    progress = xcom(run, "wait_for_annotators")
    assert (progress["annotated"], progress["items"], progress["done"], progress["total"]) == (4, 4, 4, 4)
    assert progress["locked"] == 0
    assert stat_polls(emu, dataset["id"]) >= 3, "the sensor saw the work in progress"
    assert "annotated 0 / 4, 0 locked" in capfd.readouterr().out


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_require_unlocked_waits_for_the_editor_to_be_closed(emu, wait_dag, tmp_path, mode):
    dataset = fresh_dataset(emu, tmp_path, items=2)
    emu.annotate(dataset["data_ids"], objects=[{"className": "Car"}])
    emu.lock(dataset["data_ids"][:1], user="bob")  # bob still has an item open in the editor
    released = after_first_look(emu, dataset["id"], 1.5, emu.unlock, user="bob")
    run, tis = run_dag(
        wait_dag,
        conf={"dataset_id": dataset["id"]},
        wait_for_annotators={**MODES[mode], "require_unlocked": True},
    )
    released.join()
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert stat_polls(emu, dataset["id"]) >= 3, "it waited while bob held the lock"
    assert xcom(run, "wait_for_annotators")["locked"] == 0


def test_without_require_unlocked_a_lock_does_not_hold_it_back(emu, wait_dag, tmp_path):
    dataset = fresh_dataset(emu, tmp_path, items=2)
    emu.annotate(dataset["data_ids"], objects=[{"className": "Car"}])
    emu.lock(dataset["data_ids"][:1], user="bob")
    run, _ = run_dag(wait_dag, conf={"dataset_id": dataset["id"]})
    assert run.state == "success"
    assert xcom(run, "wait_for_annotators")["lockers"] == ["bob"]


@pytest.mark.parametrize(
    ("invalid_items", "threshold", "done"),
    [
        ("excluded", {"threshold_ratio": 1}, 2),
        ("done", {"threshold_ratio": 1}, 3),
        ("pending", {"threshold_count": 2}, 2),
    ],
)
def test_invalid_items(emu, wait_dag, tmp_path, invalid_items, threshold, done):
    dataset = fresh_dataset(emu, tmp_path, items=3)
    ids = dataset["data_ids"]
    emu.annotate(ids[:2], objects=[{"className": "Car"}])
    emu.mark_invalid(ids[2:])
    overrides = {"invalid_items": invalid_items, "threshold_ratio": None, **threshold, "timeout": 10}
    run, _ = run_dag(wait_dag, conf={"dataset_id": dataset["id"]}, wait_for_annotators=overrides)
    assert run.state == "success"
    progress = xcom(run, "wait_for_annotators")
    assert (progress["done"], progress["invalid"], progress["invalid_items"]) == (done, 1, invalid_items)


def test_pending_invalid_items_block_a_full_ratio(emu, wait_dag, tmp_path, capfd):
    dataset = fresh_dataset(emu, tmp_path, items=2)
    emu.annotate(dataset["data_ids"][:1], objects=[{"className": "Car"}])
    emu.mark_invalid(dataset["data_ids"][1:])
    run, _ = run_dag(
        wait_dag,
        conf={"dataset_id": dataset["id"]},
        wait_for_annotators={"invalid_items": "pending", "timeout": 1.5},
    )
    assert run.state == "failed"
    assert "annotated 1 / 2, 1 invalid (pending)" in capfd.readouterr().out


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_stall_timeout(emu, wait_dag, tmp_path, mode, capfd):
    dataset = fresh_dataset(emu, tmp_path, items=2)
    run, _ = run_dag(
        wait_dag, conf={"dataset_id": dataset["id"]}, wait_for_annotators={**MODES[mode], "stall_timeout": 1}
    )
    assert run.state == "failed"
    assert "no annotation progress for 1 s" in capfd.readouterr().out


@pytest.mark.parametrize("mode", list(MODES))
def test_dataset_deleted_while_waited_on(emu, wait_dag, tmp_path, mode, capfd):
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    dataset = fresh_dataset(emu, tmp_path, items=2)
    deleter = after_first_look(emu, dataset["id"], 1.0, Xtreme1Hook().delete_dataset, dataset["id"])
    run, _ = run_dag(wait_dag, conf={"dataset_id": dataset["id"]}, wait_for_annotators=MODES[mode])
    deleter.join()
    assert run.state == "failed"
    assert (
        f"Xtreme1 dataset {dataset['id']} does not exist (deleted, or a wrong id)" in capfd.readouterr().out
    )


def test_unknown_dataset_fails_at_the_first_check(emu, wait_dag, capfd):
    started = time.monotonic()
    run, _ = run_dag(wait_dag, conf={"dataset_id": 987654})
    assert run.state == "failed"
    assert time.monotonic() - started < 30
    assert "Xtreme1 dataset 987654 does not exist" in capfd.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold_ratio": 0}, "threshold_ratio must be a fraction above 0 and at most 1"),
        ({"threshold_ratio": 1.5}, "threshold_ratio must be a fraction above 0 and at most 1"),
        ({"threshold_ratio": "lots"}, "threshold_ratio must be a number"),
        ({"threshold_count": 0}, "threshold_count must be a whole number of items, at least 1"),
        ({"threshold_count": 2.5}, "threshold_count must be a whole number"),
        ({"threshold_count": True}, "threshold_count must be a whole number"),
        ({}, "give exactly one of threshold_ratio"),
        ({"threshold_ratio": 0.5, "threshold_count": 3}, "give exactly one of threshold_ratio"),
        ({"threshold_count": 3, "dataset_id": "twelve"}, "dataset_id must be an integer id"),
        ({"threshold_count": 3, "invalid_items": "ignored"}, "'ignored' is not a valid InvalidItems"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs, message):
    kwargs.setdefault("dataset_id", 12)
    with pytest.raises(ValueError, match=message):
        Xtreme1AnnotationSensor(task_id="wait", **kwargs)


def test_templated_thresholds_are_checked_when_rendered():
    sensor = Xtreme1AnnotationSensor(task_id="wait", dataset_id="{{ params.id }}", threshold_ratio="{{ x }}")
    sensor.dataset_id, sensor.threshold_ratio = "7", "2"
    with pytest.raises(ValueError, match="threshold_ratio must be a fraction"):
        _ = sensor._watch


def test_progress_line_and_rules():
    progress = Progress.from_statistics(
        12,
        {"annotatedCount": 412, "notAnnotatedCount": 588, "invalidCount": 0, "itemCount": 1000},
        [{"lockedNum": 2, "lockedBy": "bob"}, {"lockedNum": 1, "lockedBy": "alice"}, {"lockedNum": None}],
    )
    assert progress.line() == "annotated 412 / 1,000, 3 locked by alice, bob"
    watch = AnnotationWatch(12, Threshold.parse(count=400), require_unlocked=True, stall_timeout=5)
    assert watch.observe(progress, 0.0) is None  # met, but locked
    assert watch.observe(progress, 4.0) is None
    assert watch.observe(progress, 5.0)["outcome"] == "stalled"
    empty = Progress.from_statistics(12, {})
    assert not Threshold.parse(ratio=1).met(
        empty.done(InvalidItems.EXCLUDED), empty.total(InvalidItems.EXCLUDED)
    )
